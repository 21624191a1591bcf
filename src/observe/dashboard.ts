/**
 * The live dashboard (`--dashboard P`), served by the coordinator itself
 * with node's http server: no build step, no CDN. The page and its script
 * are the files in web/dashboard/; the charts are uPlot, served from the
 * installed npm package. Read-only: GET only, no job can be changed from
 * it. It binds 127.0.0.1 unless told otherwise (and then answers only
 * requests addressed to loopback, against DNS rebinding); whoever reaches the port
 * sees the jobs' names, curves, hosts and pictures of their data, and
 * there is no login — expose it only on a network you trust, or behind a
 * proxy that authenticates.
 *
 *   /, /jobs/ID                 the page (the jobs list, a job)
 *   /api/jobs                   the jobs, newest last
 *   /api/jobs/ID                a job's snapshot (job-view.ts)
 *   /api/jobs/ID/events         its changes, as server-sent events
 *   /api/jobs/ID/files/NAME     its latest picture of that name (PNG)
 *   /static/…                   the page's script, style and uPlot
 */
import { createReadStream, existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { packageRoot } from '../util/package-root.js';
import { FINAL_STATUSES, type JobView } from './job-view.js';
import { pipeline } from 'node:stream';

/** The jobs a dashboard shows: one for run and coordinator, every job of the service. */
export class Dashboard {
  private readonly views = new Map<string, JobView>();
  /** Jobs let go to keep the list at `keep` (service mode): never listed again. */
  private readonly evicted = new Set<string>();
  constructor(
    /** The most jobs listed (service mode): the oldest finished ones go first. */
    private readonly keep = 200,
    /** Brings the list up to date before it is read (service mode: the job store). */
    readonly refresh: () => Promise<void> = async () => undefined,
  ) {}

  add(view: JobView): JobView {
    this.views.delete(view.id);
    this.views.set(view.id, view);
    if (this.views.size > this.keep) {
      const old = [...this.views.values()].find((v) => v !== view && FINAL_STATUSES.includes(v.status));
      if (old) {
        this.views.delete(old.id);
        this.evicted.add(old.id);
      }
    }
    return view;
  }

  /** Whether the job was let go to keep the list short. */
  wasEvicted(id: string): boolean {
    return this.evicted.has(id);
  }

  get(id: string): JobView | undefined {
    return this.views.get(id);
  }

  list(): JobView[] {
    return [...this.views.values()];
  }
}

const KEEPALIVE_MS = 15_000;
/** Bytes of events a client may leave unread before its stream is closed (it reconnects and reads a snapshot). */
const MAX_UNREAD = 1 << 20;

function staticFiles(): Record<string, { path: string; type: string }> {
  const web = join(packageRoot(), 'web', 'dashboard');
  const uplot = dirname(createRequire(import.meta.url).resolve('uplot/package.json'));
  return {
    '/static/dashboard.js': { path: join(web, 'dashboard.js'), type: 'text/javascript; charset=utf-8' },
    '/static/dashboard.css': { path: join(web, 'dashboard.css'), type: 'text/css; charset=utf-8' },
    '/static/uplot.js': { path: join(uplot, 'dist', 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
    '/static/uplot.css': { path: join(uplot, 'dist', 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
    page: { path: join(web, 'index.html'), type: 'text/html; charset=utf-8' },
  };
}

export interface ServedDashboard {
  url: string;
  close(): Promise<void>;
}

/** Serves `board` at http://host:port/ (port 0: a free one, in the returned url); resolves once listening. */
export async function serveDashboard(board: Dashboard, port: number, host = '127.0.0.1'): Promise<ServedDashboard> {
  const files = staticFiles();
  for (const f of Object.values(files)) if (!existsSync(f.path)) throw new Error(`the dashboard's file ${f.path} is missing: reinstall dtrain`);
  const streams = new Set<ServerResponse>();
  const loopback = LOOPBACK_NAMES.has(host);
  const server: Server = createServer((req, res) => {
    const fail = (err: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain', `${String(err)}\n`);
      else res.destroy();
    };
    // Bound to loopback, it answers only requests addressed to loopback: a web page whose name was
    // re-pointed at 127.0.0.1 (DNS rebinding) must not read it from the user's browser.
    if (loopback && !LOOPBACK_NAMES.has(hostOf(req.headers.host))) return send(res, 403, 'text/plain', 'the dashboard answers requests to 127.0.0.1 or localhost only\n');
    // The list is brought up to date first (service mode: the store), then the request is answered from it.
    const api = (req.url ?? '').startsWith('/api/jobs');
    (api ? board.refresh() : Promise.resolve()).then(() => route(board, files, streams, req, res)).catch(fail);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}/`,
    close: () =>
      new Promise((resolve) => {
        for (const s of streams) s.end();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function route(board: Dashboard, files: ReturnType<typeof staticFiles>, streams: Set<ServerResponse>, req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'the dashboard is read-only: GET only\n', { allow: 'GET, HEAD' });
  const path = decodePath(new URL(req.url ?? '/', 'http://dashboard').pathname);
  if (path === undefined) return send(res, 400, 'text/plain', 'bad path\n');
  const file = files[path];
  if (file) return sendFile(res, file.path, file.type);
  if (path === '/' || /^\/jobs\/[^/]+\/?$/.test(path)) return sendFile(res, files.page.path, files.page.type);
  if (path === '/api/jobs') return sendJson(res, board.list().map((v) => v.row()));
  const m = /^\/api\/jobs\/([^/]+)(?:\/(events|files\/([^/]+)))?$/.exec(path);
  const view = m ? board.get(m[1]) : undefined;
  if (!m || !view) return send(res, 404, 'text/plain', m ? `no job ${m[1]}\n` : 'not found\n');
  if (m[2] === undefined) return sendJson(res, view.snapshot());
  if (m[2] === 'events') return req.method === 'HEAD' ? send(res, 200, 'text/event-stream; charset=utf-8', '') : stream(view, streams, req, res);
  const picture = view.picturePath(m[3]);
  if (!picture || !existsSync(picture)) return send(res, 404, 'text/plain', `job ${view.id} has no picture ${m[3]}\n`);
  return sendFile(res, picture, 'image/png');
}

/** Server-sent events of a job's changes until the client goes; a comment now and then keeps proxies from closing the stream. */
function stream(view: JobView, streams: Set<ServerResponse>, req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.write('retry: 2000\n\n');
  streams.add(res);
  const off = view.subscribe((event, data) => {
    // A client that stays but stops reading is let go rather than buffered for without end.
    if (res.writableLength > MAX_UNREAD) res.destroy();
    else res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  });
  const keepalive = setInterval(() => res.write(': keep-alive\n\n'), KEEPALIVE_MS).unref();
  const end = () => {
    off();
    clearInterval(keepalive);
    streams.delete(res);
  };
  req.on('close', end);
  res.on('close', end);
}

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** The name in a Host header, without its port. */
function hostOf(header: string | undefined): string {
  if (!header) return '';
  return header.startsWith('[') ? header.slice(0, header.indexOf(']') + 1) : header.split(':')[0];
}

function decodePath(p: string): string | undefined {
  try {
    return decodeURIComponent(p).replace(/\/+$/, '') || '/';
  } catch {
    return undefined;
  }
}

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, ...headers }).end(body);
}

function sendJson(res: ServerResponse, value: unknown): void {
  send(res, 200, 'application/json; charset=utf-8', JSON.stringify(value), { 'cache-control': 'no-store' });
}

function sendFile(res: ServerResponse, path: string, type: string): void {
  res.writeHead(200, { 'content-type': type, 'cache-control': 'no-cache' });
  // pipeline closes the file when the client goes mid-way.
  pipeline(createReadStream(path), res, () => undefined);
}
