export default async function globalTeardown(): Promise<void> {
  await globalThis.spotdagTestServer?.stop();
  failIfKeptAlive();
}

/**
 * The integration tests run in Jest's own process (in band): a server, socket, timer or child
 * process a test leaves open keeps it alive once the results are in. If that happens, this fails
 * the run and names what is open, instead of letting it hang; a clean run has exited long before
 * the timer (unref'd: it keeps nothing alive) fires.
 */
function failIfKeptAlive(graceMs = 30_000): void {
  setTimeout(() => {
    const open = process.getActiveResourcesInfo().join(', '); // one Timeout is this one
    process.stderr.write(`\nthe test run left handles open and did not exit: ${open}\n`);
    process.exit(1);
  }, graceMs).unref();
}
