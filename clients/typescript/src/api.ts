/**
 * A small typed layer for the mobile app over the types openapi-typescript generates from
 * openapi/schema.yaml (src/generated/schema.d.ts, not committed: `npm run build`) and the
 * openapi-fetch client. Every path, parameter, body and answer below is checked against the
 * schema by `tsc --strict`: when the API changes, this file stops compiling where it must change.
 *
 * - `createApiClient`: base URL + the bearer token from a TokenStore, with a single-flight
 *   refresh: when the access token has expired (401 `token_not_valid`), one refresh runs however
 *   many requests failed at once, the rotated pair is stored, and each request is sent again once.
 * - `ApiProblem`: every error answer (RFC 9457 problem+json) as a typed error to branch on `code`.
 * - helpers for the screens: sign in, soreness reports (list, create offline-first with a client
 *   id), the recommendation, the team dashboard.
 *
 * docs/mobile.md explains the flows.
 */
import createClient, { type Client } from "openapi-fetch";

import type { components, operations, paths } from "./generated/schema";

export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];
export type FieldError = Schemas["FieldError"];
export type TokenPair = Schemas["TokenPair"];
export type SorenessReport = Schemas["SorenessReport"];
export type SorenessReportCreate = Schemas["SorenessReportCreateRequest"];
export type PaginatedSorenessReports = Schemas["PaginatedSorenessReportList"];
export type Recommendation = Schemas["Recommendation"];
export type TeamDashboard = Schemas["TeamDashboard"];
export type SorenessReportQuery = NonNullable<
  operations["soreness_reports_list"]["parameters"]["query"]
>;
export type RecommendationQuery = NonNullable<
  operations["athletes_recommendation_retrieve"]["parameters"]["query"]
>;

export type ApiClient = Client<paths>;

/** Where the app keeps the token pair: secure storage on a phone, memory in a test. */
export interface TokenStore {
  get(): TokenPair | null | Promise<TokenPair | null>;
  set(tokens: TokenPair | null): void | Promise<void>;
}

export function memoryTokenStore(initial: TokenPair | null = null): TokenStore {
  let tokens = initial;
  return {
    get: () => tokens,
    set: (next) => {
      tokens = next;
    },
  };
}

export interface ApiClientOptions {
  /** e.g. `https://api.example.org` (no trailing `/api/v1`: paths carry it). */
  baseUrl: string;
  tokens: TokenStore;
  /** Called once when the refresh token is refused too: the user must sign in again. */
  onSessionExpired?: () => void;
  fetch?: (input: Request) => Promise<Response>;
}

/** An error answer of the API, typed: branch on `code`, show `errors[]` next to the fields. */
export class ApiProblem extends Error {
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(`${problem.status} ${problem.code}: ${problem.detail}`);
    this.name = "ApiProblem";
    this.problem = problem;
  }

  get code(): string {
    return this.problem.code;
  }

  get status(): number {
    return this.problem.status;
  }

  /** Field errors of a `validation_error`, keyed by dotted field path (`entries.0.severity`). */
  fieldErrors(): Map<string, FieldError[]> {
    const byField = new Map<string, FieldError[]>();
    for (const error of this.problem.errors ?? []) {
      byField.set(error.field, [...(byField.get(error.field) ?? []), error]);
    }
    return byField;
  }
}

const PUBLIC_PATHS = ["/api/v1/auth/token/", "/api/v1/auth/token/refresh/", "/api/v1/auth/register/"];

function isProblem(body: unknown): body is Problem {
  return (
    typeof body === "object" &&
    body !== null &&
    typeof (body as Problem).code === "string" &&
    typeof (body as Problem).status === "number"
  );
}

/** The problem in an error answer; a proxy's HTML error page becomes a problem too. */
function problemOf(error: unknown, response: Response): Problem {
  if (isProblem(error)) {
    return error;
  }
  return {
    type: "about:blank",
    title: response.statusText || "Error",
    status: response.status,
    detail: typeof error === "string" ? error.slice(0, 200) : "Unexpected answer.",
    code: `http_${response.status}`,
  };
}

async function isExpiredAccessToken(response: Response): Promise<boolean> {
  if (response.status !== 401) {
    return false;
  }
  try {
    const body: unknown = await response.clone().json();
    return isProblem(body) && body.code === "token_not_valid";
  } catch {
    return false;
  }
}

function withBearer(request: Request, access: string | undefined): Request {
  if (!access) {
    return request;
  }
  const headers = new Headers(request.headers);
  headers.set("Authorization", `Bearer ${access}`);
  return new Request(request, { headers });
}

/** `run` at most once at a time: callers that arrive while it runs share its result. */
export function singleFlight<T>(run: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | null = null;
  return () => {
    inFlight ??= run().finally(() => {
      inFlight = null;
    });
    return inFlight;
  };
}

/**
 * The typed client. Each request carries the stored access token; on 401 `token_not_valid`
 * it refreshes (single flight: refresh tokens rotate, and a refresh token works once) and
 * sends the request again once with the new token. If the refresh is refused, the tokens
 * are cleared, `onSessionExpired` runs and the caller gets the original 401.
 */
export function createApiClient(options: ApiClientOptions): ApiClient {
  const { baseUrl, tokens, onSessionExpired } = options;
  const send = options.fetch ?? ((input: Request) => globalThis.fetch(input));
  const plain = createClient<paths>({ baseUrl, fetch: send });

  const refresh = singleFlight(async (): Promise<TokenPair | null> => {
    const current = await tokens.get();
    if (!current) {
      return null;
    }
    const { data, error, response } = await plain.POST("/api/v1/auth/token/refresh/", {
      body: { refresh: current.refresh },
    });
    if (data) {
      await tokens.set(data);
      return data;
    }
    if (response.status === 401) {
      // Expired, revoked (password change, sign-out) or already used: sign in again.
      await tokens.set(null);
      onSessionExpired?.();
      return null;
    }
    throw new ApiProblem(problemOf(error, response)); // throttled, offline proxy...: keep tokens
  });

  const authenticatedFetch = async (request: Request): Promise<Response> => {
    const path = new URL(request.url).pathname;
    if (PUBLIC_PATHS.some((publicPath) => path.endsWith(publicPath))) {
      return send(request);
    }
    const again = request.clone(); // a body can be read once: keep a copy for the retry
    const sentWith = (await tokens.get())?.access;
    const response = await send(withBearer(request, sentWith));
    if (!sentWith || !(await isExpiredAccessToken(response))) {
      return response;
    }
    // Another request may have refreshed while this one was on the way.
    const stored = await tokens.get();
    const renewed = stored && stored.access !== sentWith ? stored : await refresh();
    return renewed ? send(withBearer(again, renewed.access)) : response;
  };

  return createClient<paths>({ baseUrl, fetch: authenticatedFetch });
}

/** The answer's data, or the ApiProblem it carries. */
async function unwrap<T>(
  pending: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<{ data: T; response: Response }> {
  const { data, error, response } = await pending;
  if (error !== undefined || data === undefined) {
    throw new ApiProblem(problemOf(error, response));
  }
  return { data, response };
}

/** Sign in with email and password; stores the token pair and returns it. */
export async function signIn(
  client: ApiClient,
  tokens: TokenStore,
  credentials: { email: string; password: string },
): Promise<TokenPair> {
  const { data } = await unwrap(client.POST("/api/v1/auth/token/", { body: credentials }));
  await tokens.set(data);
  return data;
}

/** One page of the soreness reports the user may see, newest first; pass `next` back as `cursor`. */
export async function listSorenessReports(
  client: ApiClient,
  query: SorenessReportQuery = {},
): Promise<PaginatedSorenessReports> {
  const { data } = await unwrap(client.GET("/api/v1/soreness-reports/", { params: { query } }));
  return data;
}

/** The `cursor` parameter of a `next` / `previous` link. */
export function cursorOf(link: string | null | undefined): string | undefined {
  return link ? (new URL(link).searchParams.get("cursor") ?? undefined) : undefined;
}

/**
 * Submit a soreness report offline-first: the report carries an id made on the phone (kept in
 * the outbox with it), so sending it again after a lost answer returns the stored report
 * (`created: false`, HTTP 200) and never stores it twice.
 */
export async function createSorenessReport(
  client: ApiClient,
  report: SorenessReportCreate,
): Promise<{ report: SorenessReport; created: boolean }> {
  const body: SorenessReportCreate = { ...report, id: report.id ?? crypto.randomUUID() };
  const { data, response } = await unwrap(client.POST("/api/v1/soreness-reports/", { body }));
  return { report: data, created: response.status === 201 };
}

/** Where the athlete's next massage session should focus, and why. */
export async function getRecommendation(
  client: ApiClient,
  athleteId: string,
  query: RecommendationQuery = {},
): Promise<Recommendation> {
  const { data } = await unwrap(
    client.GET("/api/v1/athletes/{athlete_id}/recommendation/", {
      params: { path: { athlete_id: athleteId }, query },
    }),
  );
  return data;
}

/** The team dashboard for staff (coaches, therapists, admins), as of `date` (default today). */
export async function getTeamDashboard(
  client: ApiClient,
  teamId: string,
  date?: string,
): Promise<TeamDashboard> {
  const { data } = await unwrap(
    client.GET("/api/v1/teams/{team_id}/dashboard/", {
      params: { path: { team_id: teamId }, query: date ? { date } : {} },
    }),
  );
  return data;
}
