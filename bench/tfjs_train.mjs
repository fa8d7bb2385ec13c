// The tutorial's stack as a speed peer: the heterogeneous Iris model trained with TensorFlow.js in Node.js
// (pure-JS CPU backend). Reads {x, species, width, epochs} as JSON on stdin; prints {"ms_per_epoch": ...}.
// Run from tests/tfjs so that @tensorflow/tfjs resolves from its node_modules.
import { createRequire } from "module";

const require = createRequire(process.cwd() + "/");
const tf = require("@tensorflow/tfjs");

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const data = JSON.parse(Buffer.concat(chunks).toString());

const input = tf.input({ shape: [data.x[0].length] });
let h = tf.layers.dense({ units: 10, activation: "relu" }).apply(input);
h = tf.layers.dense({ units: 10, activation: "relu" }).apply(h);
const species = tf.layers.dense({ units: 3, activation: "softmax", name: "species" }).apply(h);
const width = tf.layers.dense({ units: 1, name: "petal_width" }).apply(h);
const model = tf.model({ inputs: input, outputs: [species, width] });
model.compile({ optimizer: tf.train.sgd(0.01), loss: ["sparseCategoricalCrossentropy", "meanSquaredError"] });

const x = tf.tensor2d(data.x);
const ys = [tf.tensor1d(data.species, "float32"), tf.tensor2d(data.width, [data.width.length, 1])];
const stamps = [];
await model.fit(x, ys, {
  batchSize: 32, epochs: data.epochs, shuffle: true, verbose: 0,
  callbacks: { onEpochEnd: async () => { stamps.push(performance.now()); } },
});
const half = stamps.slice(Math.floor(stamps.length / 2));
const ms = (half[half.length - 1] - half[0]) / Math.max(half.length - 1, 1);
console.log(JSON.stringify({ ms_per_epoch: ms }));
