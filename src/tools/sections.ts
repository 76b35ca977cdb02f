/**
 * The up and down parts of a one-file migration, split where the tool itself
 * splits it (node-pg-migrate's `-- Up Migration`, dbmate's `-- migrate:up`):
 * by its own marker comments, so that each part is byte for byte what that
 * tool ran. `up` starts at its marker and ends at the down marker.
 */
export function splitSections(
  content: string,
  upMarker: RegExp,
  downMarker: RegExp,
): { up: string | undefined; down: string | undefined; upLine: string | undefined } {
  const up = upMarker.exec(content);
  const down = downMarker.exec(content);
  const upAt = up?.index ?? -1;
  const downAt = down?.index ?? -1;
  return {
    up: upAt < 0 ? undefined : content.slice(upAt, downAt > upAt ? downAt : undefined),
    down: downAt < 0 ? undefined : content.slice(downAt, upAt > downAt ? upAt : undefined),
    upLine: up?.[0],
  };
}

/** `1700000000000_create-users` → its version digits and the rest, as schemata names a file. */
export function versionedStem(stem: string): string | undefined {
  const match = /^(\d+)[_-]?(.*)$/.exec(stem);
  if (!match) return undefined;
  return `${match[1]!}_${match[2] || 'migration'}`;
}
