// A classifier for the seeds table: two hidden layers of plain tfjs.
// dtrain calls the default export once per process with its own `tf`;
// `options` comes from the job file's model.options.
export default function buildModel({ tf, inputShape, classes, options }) {
  const hidden = options.hidden ?? [32, 16];
  return tf.sequential({
    layers: [
      ...hidden.map((units, i) => tf.layers.dense({ units, activation: 'relu', ...(i === 0 ? { inputShape } : {}) })),
      // Logits: no softmax (dtrain's loss applies it).
      tf.layers.dense({ units: classes }),
    ],
  });
}
