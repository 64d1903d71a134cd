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
//             JSON line {"fn","step","attempt","run_id","t"} so tests can count
//             executions. A line with "step": null is written each time the
//             handler itself is entered (once per call request).
//   FUNCTIONS optional comma-separated list of function ids to serve (default:
//             all); lets a test change the app's functions and re-sync.
"use strict";

const fs = require("node:fs");
const express = require("express");
const { Inngest, NonRetriableError } = require("inngest");
const { serve } = require("inngest/express");

const inngest = new Inngest({ id: process.env.APP_ID || "ts-app" });

function record(fn, stepId, ctx) {
  const path = process.env.CALL_LOG;
  if (!path) return;
  const line = JSON.stringify({
    fn,
    step: stepId,
    attempt: ctx.attempt,
    run_id: ctx.runId,
    t: Date.now(),
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

const app = express();
app.use(express.json({ limit: "10mb" })); // the SDK handler needs a parsed body

const allFunctions = [threeSteps, single, flaky, fatal, conditional, wild, slowSteps];
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
