// Runs `mockopper serve` for a test file and drives it through the admin API.
//
// The Python interpreter is $MOCKOPPER_PYTHON, else the repository's .venv/bin/python
// when it exists, else python3. The server listens on a free loopback port; its base URL
// is read from the `Base URL` line that `serve` prints.

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
  constructor(child, url) {
    this.child = child;
    this.url = url; // http://127.0.0.1:PORT
    this.baseURL = `${url}/v3/compat`;
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
    await this.admin('PUT', 'scenario', body, type);
    await this.reset();
  }

  /** Forget the journal and every counter; keep the scenario. */
  async reset() {
    await this.admin('POST', 'reset');
  }

  /** The journal, oldest first; `filter` takes the admin API's query keys (rule, surface, model, unmatched). */
  async requests(filter = {}) {
    const query = new URLSearchParams(filter).toString();
    const { requests } = await this.admin('GET', `requests${query ? `?${query}` : ''}`);
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
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((done) => this.child.once('exit', done));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Start `mockopper serve --port 0 --quiet` and wait until it prints its base URL. */
export async function startMockopper({ scenario } = {}) {
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
  return new Mockopper(child, url);
}

/** The test file's server: started before its tests, stopped after them; every test must leave no unmatched request. */
export function useMockopper(hooks) {
  const { before, after, afterEach } = hooks;
  const handle = {};
  before(async () => {
    handle.server = await startMockopper();
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
