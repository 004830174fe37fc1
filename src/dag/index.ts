/** Task decomposition: JobSpec / WfFormat → validated DAG of sub-tasks, its analysis and re-splitting. */
export type {
  IntRange,
  SubTaskAttributes,
  DependencyAttributes,
  TaskDag,
  CommandSpec,
  DeclaredOutput,
} from './types';
export { COMMAND_STEP } from './types';
export {
  JobSpecError,
  DagError,
  CycleError,
  DanglingReferenceError,
  DuplicateIdError,
  InvalidResourceError,
  TooManyNodesError,
  SplitError,
  WfFormatError,
  formatIssue,
  type SpecIssue,
} from './errors';
export {
  jobSpecSchema,
  stageSchema,
  chunkingSchema,
  parseJobSpec,
  parseJobSpecText,
  parseJsonText,
  jobSpecJsonSchema,
  stageSizes,
  splitLayout,
  overheadModel,
  formatPath,
  DEFAULT_MAX_SUB_TASKS,
  COMMAND_ONLY_KEYS,
  type JobSpec,
  type JobSpecInput,
  type Stage,
  type StageInput,
  type StepStage,
  type SplitStage,
  type ReduceStage,
  type ParseJobSpecOptions,
  type StageSize,
} from './spec';
export { jobSpec, JobSpecBuilder, type StepOptions, type SplitOptions, type ReduceOptions } from './builder';
export {
  DEFAULT_OVERHEAD,
  layoutChunks,
  chunkAt,
  reduceLevels,
  perSubTaskOverheadSeconds,
  expectedWasteFraction,
  costOptimalSubTaskSeconds,
  type OverheadModel,
  type ChunkingRule,
  type ChunkLayout,
} from './chunking';
export { decompose, subTaskId } from './decompose';
export {
  importWfFormat,
  parseWfFormat,
  isWfFormat,
  wfFormatSchema,
  DEFAULT_TASK_SECONDS,
  DEFAULT_TASK_MEMORY_MIB,
  DEFAULT_TASK_CORES,
  type WfFormatImport,
  type WfFormatImportOptions,
} from './wfformat';
export { validateDag, findDagProblems, DEFAULT_MAX_NODES, type ValidateOptions } from './validate';
export { analyseDag, type DagAnalysis } from './analyse';
export { splitSubTask, type SplitSubTaskOptions, type SplitSubTaskResult } from './resplit';
export { assignPriorities } from './graph-index';
export {
  readJsonFile,
  loadJobSpecFile,
  loadWorkflowFile,
  loadPlanFile,
  planFromJson,
  type LoadedPlan,
} from './load';
