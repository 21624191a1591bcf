/** crc-32's CRC-32C (Castagnoli) module (CommonJS), which its own types leave out. */
declare module 'crc-32/crc32c.js' {
  const CRC32C: {
    /** The CRC-32C of `data`, as a signed 32-bit integer. */
    buf(data: Uint8Array, seed?: number): number;
  };
  export default CRC32C;
}
