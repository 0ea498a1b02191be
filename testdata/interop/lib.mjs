// Helpers shared by interop.mjs and polling.mjs: waiting for events and
// running named checks.

// next resolves with the next event `name` on s that pred accepts
// (rejects after ms).
export function next(s, name, pred = () => true, ms = 5000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => { s.off(name, on); reject(new Error(`timeout waiting for ${name}`)); }, ms);
    function on(arg) {
      if (!pred(arg)) return;
      clearTimeout(t);
      s.off(name, on);
      resolve(arg);
    }
    s.on(name, on);
  });
}

// collect records every event `name` on s from now on.
export function collect(s, name) {
  const got = [];
  s.on(name, (arg) => got.push(arg));
  return got;
}

// until polls cond every 10 ms (throws after ms).
export async function until(cond, what, ms = 5000) {
  for (let i = 0; i < ms / 10; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timeout: ${what}`);
}

// run runs the checks in order, prints a line for each and
// "N passed, N failed", disconnects sockets and exits 1 on a failure.
export async function run(checks, sockets) {
  let passed = 0, failed = 0;
  for (const { name, fn } of checks) {
    try {
      await fn();
      passed++;
      console.log(`ok   ${name}`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${name}: ${e.stack || e}`);
    }
  }
  for (const s of sockets) s.disconnect();
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}
