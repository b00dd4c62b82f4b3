/** Enables Node's compile cache for this process, its worker threads and children; the directory, or undefined when off. */
export function enableCompileCache(): string | undefined;
