/**
 * Curves kept in memory for drawing (the plots, the dashboard): at most
 * MAX_POINTS points a curve; past it every other point is dropped, so a
 * curve keeps its shape at half the resolution, and the last point stays.
 */
export const MAX_POINTS = 4000;

/** The list as it is, or halved (keeping the last point) once it has grown past MAX_POINTS. */
export function bounded<T>(list: T[]): T[] {
  return list.length > MAX_POINTS ? list.filter((_, i) => i % 2 === 1 || i === list.length - 1) : list;
}
