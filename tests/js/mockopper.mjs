// Gives a test file its own session of a `mockopper serve` and drives it through the admin API.
//
// Test files run in parallel against one server, as a vitest or Playwright suite would:
// each file's clients send `x-mockopper-session: <file's session>` (`mock.headers`), so
// each file has its own scenario, counters and journal. The server is $MOCKOPPER_URL
// when set (the Python runner starts one for the whole suite), else one started for the
// file: `mockopper serve --port 0`, with $MOCKOPPER_PYTHON, else the repository's
// .venv/bin/python when it exists, else python3; its base URL is read from the
// `Base URL` line that `serve` prints.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const START_TIMEOUT_MS = 30_000;

export function pythonCommand() {
  if (process.env.MOCKOPPER_PYTHON) return process.env.MOCKOPPER_PYTHON;
  const venv = join(REPO, '.venv', 'bin', 'python');
  return existsSync(venv) ? venv : 'python3';
}

class Mockopper {
  constructor(child, url, session) {
    this.child = child; // null when the server is shared
    this.url = url; // http://127.0.0.1:PORT
    this.baseURL = `${url}/v3/compat`;
    this.session = session;
  }

  /** The header that puts a client's requests in this file's session (`defaultHeaders`, `headers`). */
  get headers() {
    return { 'x-mockopper-session': this.session };
  }

  /** The admin API of this file's session. */
  async sessionAdmin(method, path, body, contentType) {
    return this.admin(method, `sessions/${encodeURIComponent(this.session)}/${path}`, body, contentType);
  }

  async admin(method, path, body, contentType) {
    const headers = body === undefined ? {} : { 'content-type': contentType };
    const response = await fetch(`${this.url}/__mockopper/${path}`, { method, headers, body });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} /__mockopper/${path}: ${response.status} ${text}`);
    return JSON.parse(text);
  }

  /** Serve `scenario` (YAML text or an object) from now on, with an empty journal and fresh counters. */
  async load(scenario) {
    const [body, type] =
      typeof scenario === 'string' ? [scenario, 'application/yaml'] : [JSON.stringify(scenario), 'application/json'];
    await this.sessionAdmin('PUT', 'scenario', body, type);
    await this.reset();
  }

  /** Forget the session's journal and every counter; keep the scenario. */
  async reset() {
    await this.sessionAdmin('POST', 'reset');
  }

  /** The journal, oldest first; `filter` takes the admin API's query keys (rule, surface, model, unmatched). */
  async requests(filter = {}) {
    const query = new URLSearchParams(filter).toString();
    const { requests } = await this.sessionAdmin('GET', `requests${query ? `?${query}` : ''}`);
    return requests;
  }

  /** Throw when some request matched no rule (the near-miss report is the message). */
  async assertAllMatched() {
    const missed = await this.requests({ unmatched: 'true' });
    if (missed.length) {
      throw new Error(
        `unmatched requests:\n${missed.map((r) => `${r.method} ${r.path}: ${r.explanation}`).join('\n')}`,
      );
    }
  }

  async stop() {
    if (this.child === null) {
      await this.admin('DELETE', `sessions/${encodeURIComponent(this.session)}`).catch(() => {});
      return;
    }
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((done) => this.child.once('exit', done));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Start `mockopper serve --port 0 --quiet` and wait until it prints its base URL. */
export async function startMockopper({ scenario, session = 'js' } = {}) {
  const args = ['-m', 'mockopper.cli', 'serve', '--port', '0', '--quiet'];
  if (scenario) args.push('--scenario', scenario);
  const child = spawn(pythonCommand(), args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  process.once('exit', () => child.kill('SIGKILL'));

  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  const url = await new Promise((found, failed) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      failed(new Error(`mockopper serve printed no base URL in ${START_TIMEOUT_MS} ms:\n${stdout}${stderr}`));
    }, START_TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      stdout += chunk;
      const match = /^Base URL\s+(http:\/\/\S+?)\/v3\/compat\s*$/m.exec(stdout);
      if (match) {
        clearTimeout(timer);
        found(match[1]);
      }
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      failed(new Error(`cannot run ${pythonCommand()}: ${error.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      failed(new Error(`mockopper serve exited (${code ?? signal}) before printing its base URL:\n${stdout}${stderr}`));
    });
  });
  child.stdout.resume(); // keep draining so the server never blocks on a full pipe
  return new Mockopper(child, url, session);
}

/**
 * The test file's session `session` of the shared server ($MOCKOPPER_URL), or of a server started
 * for the file; every test must leave no unmatched request.
 */
export function useMockopper(hooks, session) {
  const { before, after, afterEach } = hooks;
  const handle = {};
  before(async () => {
    const shared = process.env.MOCKOPPER_URL;
    handle.server = shared ? new Mockopper(null, shared.replace(/\/$/, ''), session) : await startMockopper({ session });
  });
  afterEach(async () => {
    await handle.server?.assertAllMatched();
  });
  after(async () => {
    await handle.server?.stop();
  });
  return new Proxy(handle, {
    get(target, key) {
      if (!target.server) throw new Error('the mockopper server is not running yet');
      const value = target.server[key];
      return typeof value === 'function' ? value.bind(target.server) : value;
    },
  });
}
