// What every page shares: the API client (problem+json errors, token refresh), the session
// (localStorage, so it survives a new tab and follows sign-in/out across tabs) and DOM helpers.

export const API = "/api/v1";

export const $ = (id) => document.getElementById(id);

/** An element with attributes, properties (`on*` handlers, `text`) and children. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") el.textContent = value;
    else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name in el && typeof value !== "string") el[name] = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

export class ProblemError extends Error {
  constructor(status, problem) {
    super(problemText(status, problem));
    this.status = status;
    this.problem = problem || {};
    this.code = this.problem.code || `http_${status}`;
  }
}

function problemText(status, problem) {
  if (!problem) return `Request failed (HTTP ${status}).`;
  let text = problem.detail || problem.title || `Request failed (HTTP ${status}).`;
  if (Array.isArray(problem.errors) && problem.errors.length) {
    text += " " + problem.errors.map((e) => `${e.field}: ${e.message}`).join("; ");
  }
  return text;
}

// ---------------------------------------------------------------- session

const KEYS = { access: "cowork.access", refresh: "cowork.refresh", user: "cowork.user" };

export const session = {
  get access() { return localStorage.getItem(KEYS.access); },
  get user() {
    try { return JSON.parse(localStorage.getItem(KEYS.user) || "null"); } catch { return null; }
  },
  get signedIn() { return Boolean(this.access); },
  isStaff() { return ["manager", "admin"].includes(this.user?.role); },

  save(tokens) {
    localStorage.setItem(KEYS.access, tokens.access_token);
    localStorage.setItem(KEYS.refresh, tokens.refresh_token);
  },
  setUser(user) { localStorage.setItem(KEYS.user, JSON.stringify(user)); },
  clear() { for (const key of Object.values(KEYS)) localStorage.removeItem(key); },

  // One refresh at a time per tab: refresh tokens rotate and a reused one revokes the login.
  refreshing: null,
  refresh() {
    const token = localStorage.getItem(KEYS.refresh);
    if (!token) return Promise.resolve(false);
    this.refreshing ??= fetch(`${API}/auth/refresh`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ refresh_token: token }),
    })
      .then(async (r) => {
        if (r.ok) {
          this.save(await r.json());
          return true;
        }
        // Another tab may have rotated it a moment ago: its new token is in storage now.
        if (localStorage.getItem(KEYS.refresh) !== token) return true;
        this.clear();
        return false;
      })
      .catch(() => false)
      .finally(() => { this.refreshing = null; });
    return this.refreshing;
  },
};

/** JSON in, JSON out; a non-2xx answer throws a ProblemError. */
export async function api(path, { method = "GET", body, headers = {}, auth = session.signedIn } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const send = () => {
    if (auth && session.access) init.headers.Authorization = `Bearer ${session.access}`;
    return fetch(API + path, init);
  };
  let response = await send();
  if (response.status === 401 && auth && (await session.refresh())) response = await send();
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ProblemError(response.status, data);
  return data;
}

const pendingKeys = new Map();

/** A write with an Idempotency-Key: retrying the same request after a lost answer replays it. */
export async function write(path, body, method = "POST") {
  const id = `${method} ${path} ${JSON.stringify(body ?? null)}`;
  if (!pendingKeys.has(id)) pendingKeys.set(id, crypto.randomUUID());
  try {
    const result = await api(path, {
      method, body, headers: { "Idempotency-Key": pendingKeys.get(id) },
    });
    pendingKeys.delete(id);
    return result;
  } catch (err) {
    if (err instanceof ProblemError && err.status < 500) pendingKeys.delete(id);
    throw err;
  }
}

/** Every page of a list endpoint (bounded). */
export async function allPages(path, params = {}, max = 1000) {
  const items = [];
  let cursor = null;
  do {
    const query = new URLSearchParams({ limit: "200", ...params });
    if (cursor) query.set("cursor", cursor);
    const page = await api(`${path}?${query}`);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
}

export async function signIn(email, password) {
  session.save(await api("/auth/login", { method: "POST", body: { email, password }, auth: false }));
  session.setUser(await api("/me"));
}

export async function signUp(name, email, password) {
  await api("/auth/register", { method: "POST", body: { name, email, password }, auth: false });
  await signIn(email, password);
}

export async function signOut() {
  const token = localStorage.getItem(KEYS.refresh);
  session.clear();
  if (token) {
    await api("/auth/logout", { method: "POST", body: { refresh_token: token }, auth: false })
      .catch(() => {});
  }
}

let configPromise = null;
export function config() {
  configPromise ??= api("/config", { auth: false });
  return configPromise;
}

/** Server time minus local time, from the last answer that carried the server's clock. */
export const clock = {
  skewMs: 0,
  now() { return Date.now() + this.skewMs; },
  sync(serverIso) { this.skewMs = Date.parse(serverIso) - Date.now(); },
};

// ---------------------------------------------------------------- catalogue, cached per page

const catalogueCache = { spaces: new Map(), locations: new Map() };

/** One load per key per page; `.resolved` holds the value once it arrived (a failure is retried). */
function cached(map, key, load) {
  if (!map.has(key)) {
    const promise = load();
    promise.then((value) => { promise.resolved = value; }, () => map.delete(key));
    map.set(key, promise);
  }
  return map.get(key);
}
export const spaceOf = (id) => cached(catalogueCache.spaces, id, () => api(`/spaces/${id}`, { auth: false }));
export const locationOf = (id) => cached(catalogueCache.locations, id, () => api(`/locations/${id}`, { auth: false }));
/** The location if it has arrived already (synchronous callers). */
export const loadedLocation = (id) => catalogueCache.locations.get(id)?.resolved;
