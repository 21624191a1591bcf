/** The one interface every gradient strategy implements, chosen once from the job spec. */
export interface GradientReducer {
  /** Replaces `buf` with the element-wise sum of every worker's `buf`. */
  allReduce(buf: Float32Array): Promise<void>;
  close(): void;
}

/** Called for each message a reducer drops as malformed, with the reason. */
export type DropHandler = (reason: string) => void;
