// Test app served by the official Inngest TypeScript SDK (unmodified).
//
// The end-to-end tests start it with `node app.js` and point it at our server
// through the SDK's own environment variables (INNGEST_DEV, INNGEST_BASE_URL,
// INNGEST_SIGNING_KEY, INNGEST_EVENT_KEY). The Python app in ../py serves the
// same functions with the same ids and behaviour.
//
// Environment:
//   PORT      port to listen on (127.0.0.1), default 3000
//   APP_ID    Inngest app id, default "ts-app"
//   CALL_LOG  optional path; every function and step execution appends one
//             JSON line {"fn","step","attempt","run_id","id","t"} so tests can
//             count executions. A line with "step": null is written each time
//             the handler itself is entered (once per call request). "id" is
//             the triggering event's data.id (for failure handlers: the failed
//             run's event's data.id), so tests sharing an app find their runs.
//   FUNCTIONS optional comma-separated list of function ids to serve (default:
//             all); lets a test change the app's functions and re-sync.
//   CRON_SCHEDULE optional cron expression; when set the app also serves
//             "fc-cron" on that schedule (never by default: a cron fires on its
//             own and would load every test sharing the app).
//
// The flow-control functions ("fc-*") write two CALL_LOG lines per step
// execution, {"phase": "start"} before its work and {"phase": "end"} after
// it, so tests can count the steps in flight at any moment from the app's own
// clock. Their step outputs carry a random nonce: a step executed twice shows
// up as two "end" lines with different nonces.
"use strict";

const fs = require("node:fs");
const express = require("express");
const { Inngest, NonRetriableError } = require("inngest");
const { serve } = require("inngest/express");

const inngest = new Inngest({ id: process.env.APP_ID || "ts-app" });

function dataId(event) {
  const data = (event && event.data) || {};
  if (data.id !== undefined) return data.id;
  const original = data.event && data.event.data;
  return original && original.id !== undefined ? original.id : null;
}

function record(fn, stepId, ctx, extra) {
  const path = process.env.CALL_LOG;
  if (!path) return;
  const line = JSON.stringify({
    fn,
    step: stepId,
    attempt: ctx.attempt,
    run_id: ctx.runId,
    id: dataId(ctx.event),
    t: Date.now(),
    ...(extra || {}),
  });
  fs.appendFileSync(path, line + "\n");
}

function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const threeSteps = inngest.createFunction(
  { id: "three-steps", triggers: [{ event: "test/three-steps" }] },
  async (ctx) => {
    const { event, step } = ctx;
    record("three-steps", null, ctx);
    const one = await step.run("one", () => {
      record("three-steps", "one", ctx);
      return { n: 1, input: event.data.input ?? null };
    });
    const two = await step.run("two", () => {
      record("three-steps", "two", ctx);
      return { n: one.n + 1, input: one.input };
    });
    const three = await step.run("three", () => {
      record("three-steps", "three", ctx);
      return { n: two.n + 1, input: two.input };
    });
    return { one, two, three };
  },
);

const single = inngest.createFunction(
  { id: "single", triggers: [{ event: "test/single" }] },
  async (ctx) => {
    record("single", null, ctx);
    return { echo: ctx.event.data };
  },
);

const flaky = inngest.createFunction(
  { id: "flaky", triggers: [{ event: "test/flaky" }], retries: 3 },
  async (ctx) => {
    record("flaky", null, ctx);
    if (ctx.attempt < 2) {
      throw new Error(`flaky failure on attempt ${ctx.attempt}`);
    }
    return { attempt: ctx.attempt };
  },
);

const fatal = inngest.createFunction(
  { id: "fatal", triggers: [{ event: "test/fatal" }] },
  async (ctx) => {
    record("fatal", null, ctx);
    throw new NonRetriableError("fatal!");
  },
);

const conditional = inngest.createFunction(
  { id: "conditional", triggers: [{ event: "test/cond", if: "event.data.go == true" }] },
  async (ctx) => {
    record("conditional", null, ctx);
    return "ran";
  },
);

const wild = inngest.createFunction(
  { id: "wild", triggers: [{ event: "test/wild/*" }] },
  async (ctx) => {
    record("wild", null, ctx);
    return ctx.event.name;
  },
);

const slowSteps = inngest.createFunction(
  { id: "slow-steps", triggers: [{ event: "test/slow" }] },
  async (ctx) => {
    const { event, step } = ctx;
    const delayMs = Number(event.data.delay_ms ?? 1000);
    record("slow-steps", null, ctx);
    // Each output carries the time it was produced, so a step that is
    // executed a second time would be visible as a changed output.
    const results = {};
    for (const name of ["one", "two", "three"]) {
      results[name] = await step.run(name, async () => {
        record("slow-steps", name, ctx);
        await delay(delayMs);
        return { step: name, at: Date.now() };
      });
    }
    return results;
  },
);

// --- step engine scenarios (tests/e2e/test_step_*.py) ---------------------

// A step that records itself in CALL_LOG and returns fn().
function logged(name, step, ctx, stepId, fn) {
  return step.run(stepId, async () => {
    record(name, stepId, ctx);
    return fn();
  });
}

const serialSteps = inngest.createFunction(
  { id: "serial-steps", triggers: [{ event: "test/serial-steps" }] },
  async (ctx) => {
    const { event, step } = ctx;
    record("serial-steps", null, ctx);
    const a = await logged("serial-steps", step, ctx, "a", () => `${event.data.id}:a`);
    const b = await logged("serial-steps", step, ctx, "b", () => `${a}:b`);
    const c = await logged("serial-steps", step, ctx, "c", () => `${b}:c`);
    return { a, b, c };
  },
);

const parallelSteps = inngest.createFunction(
  { id: "parallel-steps", triggers: [{ event: "test/parallel-steps" }] },
  async (ctx) => {
    const { event, step } = ctx;
    const n = Number(event.data.n);
    record("parallel-steps", null, ctx);
    const parts = await Promise.all(
      [1, 2, 3].map((k) => logged("parallel-steps", step, ctx, `p${k}`, () => n * 10 + k)),
    );
    const sum = await logged("parallel-steps", step, ctx, "sum", () =>
      parts.reduce((x, y) => x + y, 0),
    );
    return { parts, sum };
  },
);

const sleeper = inngest.createFunction(
  { id: "sleeper", triggers: [{ event: "test/sleeper" }] },
  async (ctx) => {
    const { event, step } = ctx;
    record("sleeper", null, ctx);
    const before = await logged("sleeper", step, ctx, "before", () => Date.now());
    await step.sleep("nap", Number(event.data.sleep_ms));
    const after = await logged("sleeper", step, ctx, "after", () => Date.now());
    return { before, after };
  },
);

const waiter = inngest.createFunction(
  { id: "waiter", triggers: [{ event: "test/wait" }] },
  async (ctx) => {
    const { event, step } = ctx;
    record("waiter", null, ctx);
    const reply = await step.waitForEvent("reply", {
      event: "test/wait.reply",
      if: "async.data.id == event.data.id",
      timeout: Number(event.data.timeout_ms),
    });
    return { reply: reply ? reply.data : null };
  },
);

const invokeChild = inngest.createFunction(
  { id: "invoke-child", triggers: [{ event: "test/invoke-child" }] },
  async (ctx) => {
    const { event, step } = ctx;
    record("invoke-child", null, ctx);
    if (event.data.fail) {
      throw new NonRetriableError(`child refused ${event.data.n}`);
    }
    if (event.data.sleep_ms) {
      await step.sleep("linger", Number(event.data.sleep_ms));
    }
    return { doubled: Number(event.data.n) * 2 };
  },
);

function invokeArgs(data) {
  const args = {
    function: invokeChild,
    data: { id: data.id, n: data.n, fail: Boolean(data.fail), sleep_ms: data.sleep_ms ?? 0 },
  };
  if (data.timeout_ms) args.timeout = Number(data.timeout_ms);
  return args;
}

const invoker = inngest.createFunction(
  { id: "invoker", triggers: [{ event: "test/invoker" }] },
  async (ctx) => {
    const { event, step } = ctx;
    record("invoker", null, ctx);
    try {
      const result = await step.invoke("call", invokeArgs(event.data));
      return { result };
    } catch (err) {
      return { error: { name: err.name, message: err.message } };
    }
  },
);

const sender = inngest.createFunction(
  { id: "sender", triggers: [{ event: "test/sender" }] },
  async (ctx) => {
    const { event, step } = ctx;
    record("sender", null, ctx);
    const sent = await step.sendEvent("send", {
      name: "test/sent",
      data: { id: event.data.id, from: "sender" },
    });
    const after = await logged("sender", step, ctx, "after", () => sent.ids.length);
    return { ids: sent.ids, after };
  },
);

const receiver = inngest.createFunction(
  { id: "receiver", triggers: [{ event: "test/sent" }] },
  async (ctx) => {
    record("receiver", null, ctx);
    return { got: ctx.event.data };
  },
);

const stepFlaky = inngest.createFunction(
  { id: "step-flaky", triggers: [{ event: "test/step-flaky" }], retries: 3 },
  async (ctx) => {
    const { step } = ctx;
    record("step-flaky", null, ctx);
    const wobbly = await logged("step-flaky", step, ctx, "wobbly", () => {
      if (ctx.attempt < 2) throw new Error(`wobble on attempt ${ctx.attempt}`);
      return { attempt: ctx.attempt };
    });
    return { wobbly };
  },
);

const stepCaught = inngest.createFunction(
  { id: "step-caught", triggers: [{ event: "test/step-caught" }], retries: 0 },
  async (ctx) => {
    const { event, step } = ctx;
    record("step-caught", null, ctx);
    try {
      await logged("step-caught", step, ctx, "doomed", () => {
        throw new Error(`doomed ${event.data.id}`);
      });
    } catch (err) {
      return { caught: err.message };
    }
    return { caught: null };
  },
);

const fatalWithHandler = inngest.createFunction(
  {
    id: "fatal-with-handler",
    triggers: [{ event: "test/fatal-with-handler" }],
    onFailure: async (ctx) => {
      record("fatal-with-handler-failure", null, ctx);
      return { handled: ctx.error.message, id: dataId(ctx.event) };
    },
  },
  async (ctx) => {
    record("fatal-with-handler", null, ctx);
    throw new NonRetriableError(`fatal for ${ctx.event.data.id}`);
  },
);

const cancellable = inngest.createFunction(
  {
    id: "cancellable",
    triggers: [{ event: "test/cancellable" }],
    cancelOn: [{ event: "test/cancel", match: "data.id" }],
  },
  async (ctx) => {
    const { event, step } = ctx;
    record("cancellable", null, ctx);
    await logged("cancellable", step, ctx, "started", () => Date.now());
    await step.sleep("long", Number(event.data.sleep_ms ?? 60000));
    await logged("cancellable", step, ctx, "finished", () => Date.now());
    return "finished";
  },
);

const finishTimeout = inngest.createFunction(
  {
    id: "finish-timeout",
    triggers: [{ event: "test/finish-timeout" }],
    timeouts: { finish: "2s" },
  },
  async (ctx) => {
    const { step } = ctx;
    record("finish-timeout", null, ctx);
    await logged("finish-timeout", step, ctx, "begin", () => Date.now());
    await step.sleep("too-long", "5s");
    await logged("finish-timeout", step, ctx, "end", () => Date.now());
    return "not cancelled";
  },
);

const startTimeout = inngest.createFunction(
  {
    id: "start-timeout",
    triggers: [{ event: "test/start-timeout" }],
    concurrency: { limit: 1 },
    timeouts: { start: "1s" },
  },
  async (ctx) => {
    const { event, step } = ctx;
    record("start-timeout", null, ctx);
    await logged("start-timeout", step, ctx, "hold", async () => {
      await delay(Number(event.data.hold_ms ?? 0));
      return Date.now();
    });
    return "started in time";
  },
);

const bigOutput = inngest.createFunction(
  { id: "big-output", triggers: [{ event: "test/big-output" }] },
  async (ctx) => {
    const { event, step } = ctx;
    record("big-output", null, ctx);
    const mib = Number(event.data.mib ?? 5);
    const big = await logged("big-output", step, ctx, "big", () => "x".repeat(mib * 1024 * 1024));
    return { length: big.length };
  },
);

const sleepWaitInvoke = inngest.createFunction(
  { id: "sleep-wait-invoke", triggers: [{ event: "test/sleep-wait-invoke" }] },
  async (ctx) => {
    const { event, step } = ctx;
    record("sleep-wait-invoke", null, ctx);
    const stamp = await logged("sleep-wait-invoke", step, ctx, "stamp", () => ({
      at: Date.now(),
      nonce: Math.random(),
    }));
    await step.sleep("nap", Number(event.data.sleep_ms));
    const reply = await step.waitForEvent("reply", {
      event: "test/sleep-wait-invoke.reply",
      if: "async.data.id == event.data.id",
      timeout: "60s",
    });
    const child = await step.invoke("call", invokeArgs({ id: event.data.id, n: event.data.n }));
    return { stamp, reply: reply ? reply.data : null, child };
  },
);

// --- flow control scenarios (tests/e2e/test_flow_*.py and friends) -------

// A step that logs its start and end and takes event.data.delay_ms (default
// `ms`) in between; returns when it ran and a random nonce.
function timedStep(name, step, ctx, stepId, ms) {
  return step.run(stepId, async () => {
    record(name, stepId, ctx, { phase: "start" });
    await delay(Number(ctx.event.data.delay_ms ?? ms));
    const out = { at: Date.now(), nonce: Math.random().toString(36).slice(2) };
    record(name, stepId, ctx, { phase: "end", nonce: out.nonce });
    return out;
  });
}

// One timed step "work"; the run's output is the step's recorded value.
function oneStep(name) {
  return async (ctx) => {
    record(name, null, ctx);
    const work = await timedStep(name, ctx.step, ctx, "work", 300);
    return { id: ctx.event.data.id ?? null, work };
  };
}

const fcConcurrency = inngest.createFunction(
  { id: "fc-concurrency", triggers: [{ event: "test/fc-concurrency" }], concurrency: 2 },
  oneStep("fc-concurrency"),
);

const fcConcurrencyKey = inngest.createFunction(
  {
    id: "fc-concurrency-key",
    triggers: [{ event: "test/fc-concurrency-key" }],
    concurrency: { limit: 1, key: "event.data.group" },
  },
  oneStep("fc-concurrency-key"),
);

const fcLoad = inngest.createFunction(
  { id: "fc-load", triggers: [{ event: "test/fc-load" }], concurrency: [{ limit: 5 }] },
  oneStep("fc-load"),
);

const fcThrottle = inngest.createFunction(
  {
    id: "fc-throttle",
    triggers: [{ event: "test/fc-throttle" }],
    throttle: { limit: 1, period: "1s", burst: 1, key: "event.data.id" },
  },
  async (ctx) => {
    record("fc-throttle", null, ctx);
    return { id: ctx.event.data.id, n: ctx.event.data.n ?? null };
  },
);

const fcRateLimit = inngest.createFunction(
  {
    id: "fc-rate-limit",
    triggers: [{ event: "test/fc-rate-limit" }],
    rateLimit: { limit: 2, period: "1m", key: "event.data.key" },
  },
  async (ctx) => {
    record("fc-rate-limit", null, ctx);
    return { key: ctx.event.data.key, n: ctx.event.data.n ?? null };
  },
);

const fcIdempotent = inngest.createFunction(
  {
    id: "fc-idempotent",
    triggers: [{ event: "test/fc-idempotent" }],
    idempotency: "event.data.key",
  },
  async (ctx) => {
    record("fc-idempotent", null, ctx);
    return { key: ctx.event.data.key, n: ctx.event.data.n ?? null };
  },
);

// Runs "begin", sleeps event.data.sleep_ms (the run stays active, holding no
// call), runs "end".
function sleepyBody(name) {
  return async (ctx) => {
    const { event, step } = ctx;
    record(name, null, ctx);
    await timedStep(name, step, ctx, "begin", 0);
    await step.sleep("hold", Number(event.data.sleep_ms ?? 1000));
    await timedStep(name, step, ctx, "end", 0);
    return { n: event.data.n ?? null };
  };
}

const fcSingletonSkip = inngest.createFunction(
  {
    id: "fc-singleton-skip",
    triggers: [{ event: "test/fc-singleton-skip" }],
    singleton: { key: "event.data.key", mode: "skip" },
  },
  sleepyBody("fc-singleton-skip"),
);

const fcSingletonCancel = inngest.createFunction(
  {
    id: "fc-singleton-cancel",
    triggers: [{ event: "test/fc-singleton-cancel" }],
    singleton: { key: "event.data.key", mode: "cancel" },
  },
  sleepyBody("fc-singleton-cancel"),
);

const fcPriority = inngest.createFunction(
  {
    id: "fc-priority",
    triggers: [{ event: "test/fc-priority" }],
    concurrency: 1,
    priority: { run: "event.data.priority" },
  },
  oneStep("fc-priority"),
);

const fcDebounce = inngest.createFunction(
  {
    id: "fc-debounce",
    triggers: [{ event: "test/fc-debounce" }],
    debounce: { period: "2s", key: "event.data.key" },
  },
  async (ctx) => {
    record("fc-debounce", null, ctx);
    return { key: ctx.event.data.key, n: ctx.event.data.n ?? null };
  },
);

const fcBatch = inngest.createFunction(
  {
    id: "fc-batch",
    triggers: [{ event: "test/fc-batch" }],
    batchEvents: { maxSize: 3, timeout: "2s", key: "event.data.key" },
  },
  async (ctx) => {
    record("fc-batch", null, ctx);
    return { ns: ctx.events.map((e) => e.data.n ?? null) };
  },
);

const fcBulk = inngest.createFunction(
  { id: "fc-bulk", triggers: [{ event: "test/fc-bulk" }] },
  async (ctx) => {
    record("fc-bulk", null, ctx);
    return { n: ctx.event.data.n ?? null };
  },
);

const fcCron = process.env.CRON_SCHEDULE
  ? inngest.createFunction(
      { id: "fc-cron", triggers: [{ cron: process.env.CRON_SCHEDULE }] },
      async (ctx) => {
        record("fc-cron", null, ctx);
        return { name: ctx.event.name, id: ctx.event.id ?? null, data: ctx.event.data };
      },
    )
  : null;

const app = express();
app.use(express.json({ limit: "10mb" })); // the SDK handler needs a parsed body

const allFunctions = [
  threeSteps,
  single,
  flaky,
  fatal,
  conditional,
  wild,
  slowSteps,
  serialSteps,
  parallelSteps,
  sleeper,
  waiter,
  invokeChild,
  invoker,
  sender,
  receiver,
  stepFlaky,
  stepCaught,
  fatalWithHandler,
  cancellable,
  finishTimeout,
  startTimeout,
  bigOutput,
  sleepWaitInvoke,
  fcConcurrency,
  fcConcurrencyKey,
  fcLoad,
  fcThrottle,
  fcRateLimit,
  fcIdempotent,
  fcSingletonSkip,
  fcSingletonCancel,
  fcPriority,
  fcDebounce,
  fcBatch,
  fcBulk,
  ...(fcCron ? [fcCron] : []),
];
const only = (process.env.FUNCTIONS || "").split(",").map((s) => s.trim()).filter(Boolean);
const functions = only.length
  ? allFunctions.filter((fn) => only.includes(fn.opts.id))
  : allFunctions;

app.use("/api/inngest", serve({ client: inngest, functions }));

// Lets a test send events with the SDK's own send(): body = event or list.
app.post("/send", async (req, res) => {
  try {
    const result = await inngest.send(req.body);
    res.json({ ids: result.ids });
  } catch (err) {
    res.status(502).json({ error: String(err && err.message ? err.message : err) });
  }
});

const port = Number(process.env.PORT || 3000);
app.listen(port, "127.0.0.1", () => {
  console.log(`ts app listening on http://127.0.0.1:${port}/api/inngest`);
});
