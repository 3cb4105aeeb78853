// Runs a command's code with console.log and console.error silenced (its tables and progress lines
// would bury the test output), restoring them whatever happens.
export async function quietly<T>(run: () => Promise<T>): Promise<T> {
  const [log, err] = [console.log, console.error];
  console.log = console.error = () => {};
  try {
    return await run();
  } finally {
    [console.log, console.error] = [log, err];
  }
}
