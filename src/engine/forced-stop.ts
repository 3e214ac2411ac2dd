// What a forced stop (a second Ctrl-C, or SIGTERM/SIGHUP after one) still does before the
// process goes: the steps in flight and not started are recorded, the run is marked
// interrupted and the lock released. All synchronous (better-sqlite3), so it runs to the end
// inside a signal handler and leaves no "running" run and no lock held by a dead pid.
export class ForcedStop {
  private readonly tasks: Array<() => void> = [];

  /** `fn` runs on a forced stop unless the returned function is called first (the work ended normally). */
  add(fn: () => void): () => void {
    this.tasks.push(fn);
    return () => {
      const i = this.tasks.indexOf(fn);
      if (i >= 0) this.tasks.splice(i, 1);
    };
  }

  /** Last added first: the steps are recorded before the run is finished, the run before the lock goes. */
  run(): void {
    for (const fn of this.tasks.splice(0).reverse()) {
      try {
        fn();
      } catch {
        // each task is one ledger write: the others (the lock's release above all) must still happen
      }
    }
  }
}
