// Load an MTL Playground TF.js export with pure @tensorflow/tfjs (CPU backend, no tfjs-node) and print
// its predictions as one JSON line: {"outputs": {name: [[...], ...]}, "metadata": {...}, ...}.
// Usage: node predict.mjs MODEL_DIR ROWS   where ROWS is a JSON array of encoded input rows, or @FILE.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

// file:// URLs need tfjs-node, so read model.json and its shards ourselves and hand them over in memory.
async function loadFromDisk(dir) {
  const modelJSON = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8'));
  const handler = {
    load: () => tf.io.getModelArtifactsForJSON(modelJSON, async (manifest) => {
      const specs = [];
      const buffers = [];
      for (const group of manifest) {
        specs.push(...group.weights);
        for (const shard of group.paths) {
          const bytes = await readFile(path.join(dir, shard));
          buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
        }
      }
      return [specs, tf.io.concatenateArrayBuffers(buffers)];
    }),
  };
  return tf.loadLayersModel(handler);
}

async function main() {
  const [dir, rowsArg] = process.argv.slice(2);
  if (!dir || !rowsArg) {
    process.stderr.write('usage: node predict.mjs MODEL_DIR ROWS_JSON|@FILE\n');
    process.exit(2);
  }
  const rowsText = rowsArg.startsWith('@') ? await readFile(rowsArg.slice(1), 'utf8') : rowsArg;
  await tf.setBackend('cpu');
  const model = await loadFromDisk(dir);
  const x = tf.tensor2d(JSON.parse(rowsText), undefined, 'float32');
  let predictions = model.predict(x);
  if (!Array.isArray(predictions)) predictions = [predictions];
  const outputs = {};
  model.outputNames.forEach((name, i) => { outputs[name] = predictions[i].arraySync(); });
  const result = {
    outputs,
    inputNames: model.inputNames,
    metadata: model.getUserDefinedMetadata() ?? null,
    backend: tf.getBackend(),
    tfjs: tf.version.tfjs,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((err) => {
  process.stderr.write(`error: ${err.message}\n`);
  process.exit(1);
});
