// Seeds one experiment with many runs quickly: runs/create and one log-batch per run, `concurrency` runs at a time.
// Run i is named `${prefix}-${i padded}` and starts at start + i seconds, so the default order (start_time DESC) is known.
// A run with only tags costs one call. Shared by tests/ui/runs.test.mjs and bench/ui/ui-bench.mjs.

/** make(i) -> { params: {k: v}, metrics: {k: number}, tags: {k: v} }; returns { experimentId, ids (by index) }. */
export async function seedManyRuns(api, experimentName, count, make, { prefix = "run", concurrency = 16, start = Date.now() - count * 1000 } = {}) {
  const { experiment_id: experimentId } = await api("POST", "experiments/create", { name: experimentName });
  const ids = new Array(count);
  const width = String(count - 1).length;
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const { params = {}, metrics = {}, tags = {} } = make(i);
      const startTime = start + i * 1000;
      const created = await api("POST", "runs/create", {
        experiment_id: experimentId,
        run_name: `${prefix}-${String(i).padStart(width, "0")}`,
        start_time: startTime,
        tags: Object.entries(tags).map(([key, value]) => ({ key, value: String(value) })),
      });
      const runId = created.run.info.run_id;
      ids[i] = runId;
      if (Object.keys(params).length + Object.keys(metrics).length === 0) continue;
      await api("POST", "runs/log-batch", {
        run_id: runId,
        params: Object.entries(params).map(([key, value]) => ({ key, value: String(value) })),
        metrics: Object.entries(metrics).map(([key, value]) => ({ key, value, timestamp: startTime, step: 0 })),
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { experimentId, ids };
}
