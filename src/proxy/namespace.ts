/**
 * Names of aggregated tools, prompts and resource URIs: `<server><separator><original>`.
 * Server names may not contain the separator (a load error), so splitting at the first
 * separator is unambiguous and two servers' names can never collide, whatever the servers
 * call their tools. With a single upstream and `namespace: auto`, names pass unchanged.
 */

export interface Namespace {
  readonly enabled: boolean;
  /** The name the client sees. */
  outward(server: string, name: string): string;
  /** Which server a client-side name belongs to, and its name there; undefined if none. */
  inward(name: string): { server: string; name: string } | undefined;
}

export function createNamespace(options: { enabled: boolean; separator: string; servers: readonly string[] }): Namespace {
  const { enabled, separator } = options;
  const servers = new Set(options.servers);
  const only = options.servers.length === 1 ? options.servers[0] : undefined;
  if (!enabled) {
    return {
      enabled,
      outward: (_server, name) => name,
      inward: (name) => (only === undefined ? undefined : { server: only, name }),
    };
  }
  return {
    enabled,
    outward: (server, name) => `${server}${separator}${name}`,
    inward(name) {
      const at = name.indexOf(separator);
      if (at <= 0) return undefined;
      const server = name.slice(0, at);
      return servers.has(server) ? { server, name: name.slice(at + separator.length) } : undefined;
    },
  };
}
