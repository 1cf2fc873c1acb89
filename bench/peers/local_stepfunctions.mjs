// Runs one bench workload on aws-local-stepfunctions and prints its figures as JSON.
// node bench/peers/local_stepfunctions.mjs WORKLOAD.json BATCHES BATCH_SECONDS
// node bench/peers/local_stepfunctions.mjs WORKLOAD.json serve BATCH_SECONDS
//   warms up for a batch, prints {"ready": true}, then runs one batch per line read on stdin and
//   prints its figures: bench.compare interleaves these batches with its own
// Task states answer with the workload's task_results through local handlers, as the
// Python engine's in-process handlers do.

// aws-local-stepfunctions 3 calls Promise.withResolvers (Node >= 22); on an older Node
// a few lines stand in for it (nothing else differs)
if (!Promise.withResolvers) {
  Promise.withResolvers = function () {
    let resolve, reject;
    const promise = new Promise((a, b) => { resolve = a; reject = b; });
    return { promise, resolve, reject };
  };
}
const { StateMachine } = await import('aws-local-stepfunctions');
const { readFileSync, readSync } = await import('node:fs');

const [file, batches = '5', batchSeconds = '1'] = process.argv.slice(2);
const spec = JSON.parse(readFileSync(file, 'utf8'));
const results = spec.task_results || {};

function taskNames(definition, names = []) {
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Type === 'Task') names.push(name);
    for (const branch of state.Branches || []) taskNames(branch, names);
    for (const inner of [state.Iterator, state.ItemProcessor]) if (inner) taskNames(inner, names);
  }
  return names;
}

const overrides = { taskResourceLocalHandlers: {} };
for (const name of taskNames(spec.definition)) {
  overrides.taskResourceLocalHandlers[name] = async () => results[name];
}
const machine = new StateMachine(spec.definition, {
  validationOptions: { checkPaths: false, checkArn: false },
});
const once = () => machine.run(spec.input, { overrides }).result;

for (let i = 0; i < Math.max(5, spec.defaults.warmup); i++) await once();

async function batch() {
  let count = 0;
  let output;
  const start = performance.now();
  while (count === 0 || performance.now() - start < Number(batchSeconds) * 1000) {
    output = await once();
    count++;
  }
  return { ms: (performance.now() - start) / count, count, output };
}

if (batches === 'serve') {
  // a blocking read between batches: nothing of stdin's stays on the event loop
  // while a batch runs (readline's async iterator slowed batches 5x here)
  const one = Buffer.alloc(1);
  const nextRequest = () => {
    for (;;) {
      if (readSync(0, one, 0, 1, null) === 0) return false;
      if (one[0] === 10) return true;
    }
  };
  await batch(); // V8 compiles the hot paths in the first batch: not measured
  console.log(JSON.stringify({ ready: true }));
  while (nextRequest()) console.log(JSON.stringify(await batch()));
} else {
  const perBatch = [];
  let runs = 0;
  let output;
  for (let b = 0; b < Number(batches); b++) {
    const done = await batch();
    perBatch.push(done.ms);
    runs += done.count;
    output = done.output;
  }
  perBatch.sort((a, b) => a - b);
  console.log(JSON.stringify({
    executions: runs,
    ms_per_execution: perBatch[Math.floor(perBatch.length / 2)],
    ms_min: perBatch[0],
    ms_p90: perBatch[Math.min(perBatch.length - 1, Math.round(0.9 * (perBatch.length - 1)))],
    output,
  }));
}
