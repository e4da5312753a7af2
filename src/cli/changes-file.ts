/** The `--changes` file is the engine's ChangeSet as JSON; its schema lives with the ChangeSet. */
export { changeSetFileSchema, parseChangeSetFile, type ChangeSetFileIssue } from '../core/policy/change-set-schema';
