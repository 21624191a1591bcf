/** What a classifier must fit: its data's sample shape and classes. */
export interface ModelShape {
  inputShape: number[];
  classes: number;
}

/** Whether a model's shape (without the batch axis; null: any size) takes data of the given shape. */
export function fitsShape(model: (number | null)[], data: number[]): boolean {
  return model.length === data.length && model.every((v, i) => v === null || v === data[i]);
}
