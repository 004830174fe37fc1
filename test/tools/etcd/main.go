// Command etcd is the etcd server for spotdag's integration tests, built from etcd's published Go
// module at the version go.mod pins (go.sum holds the checksums). `go install ...@version` cannot
// build it: etcd's server module has replace directives, which only a main module like this one
// may drop.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
