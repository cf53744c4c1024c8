/// <reference types="node" />
/**
 * The refresh wrapper against a fake server (`npm test`, run by scripts/contract): one refresh
 * for any number of requests that fail at once, the retry keeps the request body, a refused
 * refresh ends the session, and error answers surface as typed problems.
 */
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  ApiProblem,
  createApiClient,
  createSorenessReport,
  listSorenessReports,
  memoryTokenStore,
  type Problem,
  type TokenPair,
} from "./api.js";

const BASE = "https://api.test";
const EMPTY_PAGE = { next: null, previous: null, results: [] };

function json(status: number, body: unknown, type = "application/json"): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

function problem(status: number, code: string, extra: Partial<Problem> = {}): Response {
  const body: Problem = { type: `${BASE}/problems/${code}`, title: code, status, detail: code, code, ...extra };
  return json(status, body, "application/problem+json");
}

/** A fake API whose valid access token is `valid`; refresh answers with `refreshAnswer`. */
function fakeServer(valid: string, refreshAnswer: () => Response) {
  const calls = { refresh: 0, bodies: [] as string[] };
  const fetch = async (request: Request): Promise<Response> => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    const path = new URL(request.url).pathname;
    if (path === "/api/v1/auth/token/refresh/") {
      calls.refresh += 1;
      return refreshAnswer();
    }
    if (request.headers.get("Authorization") !== `Bearer ${valid}`) {
      return problem(401, "token_not_valid");
    }
    if (request.method === "POST") {
      const body = await request.text();
      calls.bodies.push(body);
      return json(201, { ...JSON.parse(body), athlete: "a1", version: 1 });
    }
    return json(200, EMPTY_PAGE);
  };
  return { calls, fetch };
}

const expired: TokenPair = { access: "expired", refresh: "r1" };
const renewed: TokenPair = { access: "fresh", refresh: "r2" };

test("concurrent requests with an expired token share one refresh", async () => {
  const server = fakeServer("fresh", () => json(200, renewed));
  const tokens = memoryTokenStore(expired);
  const client = createApiClient({ baseUrl: BASE, tokens, fetch: server.fetch });
  const pages = await Promise.all([1, 2, 3].map(() => listSorenessReports(client)));
  assert.deepEqual(pages, [EMPTY_PAGE, EMPTY_PAGE, EMPTY_PAGE]);
  assert.equal(server.calls.refresh, 1);
  assert.deepEqual(await tokens.get(), renewed);
});

test("the retry after a refresh sends the same body, with the client id", async () => {
  const server = fakeServer("fresh", () => json(200, renewed));
  const client = createApiClient({ baseUrl: BASE, tokens: memoryTokenStore(expired), fetch: server.fetch });
  const { report, created } = await createSorenessReport(client, {
    reported_at: "2025-03-15T08:05:00+01:00",
    date: "2025-03-15",
    entries: [{ muscle_group: "hamstrings", side: "left", severity: 6, kind: "doms" }],
  });
  assert.equal(created, true);
  assert.match(report.id, /^[0-9a-f-]{36}$/);
  assert.equal(server.calls.bodies.length, 1);
  assert.equal(JSON.parse(server.calls.bodies[0] ?? "{}").id, report.id);
});

test("a refused refresh ends the session once and surfaces the 401 problem", async () => {
  const server = fakeServer("fresh", () => problem(401, "token_not_valid"));
  const tokens = memoryTokenStore(expired);
  let expiredSessions = 0;
  const client = createApiClient({
    baseUrl: BASE,
    tokens,
    fetch: server.fetch,
    onSessionExpired: () => {
      expiredSessions += 1;
    },
  });
  const results = await Promise.allSettled([listSorenessReports(client), listSorenessReports(client)]);
  for (const result of results) {
    assert.equal(result.status, "rejected");
    assert.ok(result.status === "rejected" && result.reason instanceof ApiProblem);
    assert.equal((result.reason as ApiProblem).code, "token_not_valid");
  }
  assert.equal(server.calls.refresh, 1);
  assert.equal(expiredSessions, 1);
  assert.equal(await tokens.get(), null);
});

test("a validation error is an ApiProblem with its field errors", async () => {
  const fetch = async (): Promise<Response> =>
    problem(400, "validation_error", {
      errors: [{ field: "entries.0.severity", message: "Ensure this value is less than or equal to 10.", code: "max_value" }],
    });
  const client = createApiClient({ baseUrl: BASE, tokens: memoryTokenStore(renewed), fetch });
  await assert.rejects(
    createSorenessReport(client, {
      reported_at: "2025-03-15T08:05:00+01:00",
      date: "2025-03-15",
      entries: [{ muscle_group: "hamstrings", side: "left", severity: 11, kind: "pain" }],
    }),
    (error: unknown) =>
      error instanceof ApiProblem &&
      error.status === 400 &&
      error.fieldErrors().get("entries.0.severity")?.[0]?.code === "max_value",
  );
});
