// Runs one bench workload on aws-local-stepfunctions and prints its figures as JSON.
// node bench/peers/local_stepfunctions.mjs WORKLOAD.json BATCHES BATCH_SECONDS
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
const { readFileSync } = await import('node:fs');

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
const perBatch = [];
let runs = 0;
let output;
for (let b = 0; b < Number(batches); b++) {
  let count = 0;
  const start = performance.now();
  while (count === 0 || performance.now() - start < Number(batchSeconds) * 1000) {
    output = await once();
    count++;
  }
  perBatch.push((performance.now() - start) / count);
  runs += count;
}
perBatch.sort((a, b) => a - b);
console.log(JSON.stringify({
  executions: runs,
  ms_per_execution: perBatch[Math.floor(perBatch.length / 2)],
  ms_min: perBatch[0],
  ms_p90: perBatch[Math.min(perBatch.length - 1, Math.round(0.9 * (perBatch.length - 1)))],
  output,
}));
