/** The environment a worker process of one GPU runs in. */
/**
 * CUDA_VISIBLE_DEVICES for the worker of GPU index `k`: where the variable
 * is set already (a scheduler gave the job some GPUs), its k-th entry, so
 * the index counts the job's GPUs; the order is the PCI bus's, as Vulkan's
 * usually is, rather than CUDA's fastest-first.
 */
export function cudaDevice(k: number, env: NodeJS.ProcessEnv): Record<string, string> {
  const given = env.CUDA_VISIBLE_DEVICES?.split(',').map((s) => s.trim()).filter(Boolean);
  const device = given && given.length > 0 ? given[k % given.length] : String(k);
  return { CUDA_VISIBLE_DEVICES: device, CUDA_DEVICE_ORDER: env.CUDA_DEVICE_ORDER ?? 'PCI_BUS_ID' };
}
