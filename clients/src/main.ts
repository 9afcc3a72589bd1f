/**
 * A client as the frontend teams write one: urql over HTTP, graphql-ws for subscriptions, and
 * the types graphql-codegen generated from schema.graphql and the documents.
 *
 * It runs every example operation of docs/queries as the account its heading names
 * ("Run as <account>."), and fails on any error or on an answer with an empty root field;
 * then it subscribes to taskChanged over the websocket with a token in connection_params and
 * waits for the event of a task it creates. RIVERCHIEF_URL is the service (serve --demo).
 */
import { readdirSync, readFileSync } from "node:fs";

import type { ResultOf, TypedDocumentNode, VariablesOf } from "@graphql-typed-document-node/core";
import { Client, fetchExchange, subscriptionExchange } from "@urql/core";
import type { AnyVariables, OperationResult } from "@urql/core";
import { createClient as createSocketClient } from "graphql-ws";
import type { Client as SocketClient } from "graphql-ws";
import WebSocket from "ws";

import * as documents from "./generated/operations.js";

const BASE = process.env.RIVERCHIEF_URL ?? fail("set RIVERCHIEF_URL to the service, e.g. http://127.0.0.1:8000");
const PASSWORD = process.env.RIVERCHIEF_DEMO_PASSWORD ?? "demo-pass";
const EXAMPLES = new URL("../../docs/queries/", import.meta.url);
const WITHIN_MS = 120_000;
const EVENT_WITHIN_MS = 20_000;

function fail(message: string): never {
  throw new Error(message);
}

function first<T>(items: readonly T[], what: string): T {
  return items[0] ?? fail(`no ${what}`);
}

// -- accounts ---------------------------------------------------------------------------

interface Account {
  username: string;
  client: Client;
  socket: SocketClient;
  units: string[]; // the units of the account's roles, as global IDs
  unitCodes: string[]; // the same units' codes
}

function clientFor(token: string | null): { client: Client; socket: SocketClient } {
  const credentials = token ? { authorization: `Bearer ${token}` } : undefined;
  const socket = createSocketClient({
    url: `${BASE.replace(/^http/, "ws")}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: credentials,
    retryAttempts: 0,
  });
  const client = new Client({
    url: `${BASE}/graphql`,
    preferGetMethod: false, // the service answers operations sent with POST only
    requestPolicy: "network-only",
    fetchOptions: () => (credentials ? { headers: credentials } : {}),
    exchanges: [
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const operation = { ...request, query: request.query ?? "" };
          return {
            subscribe(sink) {
              return { unsubscribe: socket.subscribe(operation, sink) };
            },
          };
        },
      }),
    ],
  });
  return { client, socket };
}

function dataOf<Data, Variables extends AnyVariables>(
  result: OperationResult<Data, Variables>,
  name: string,
): Data {
  if (result.error) fail(`${name}: ${result.error.message}`);
  return result.data ?? fail(`${name}: no data`);
}

const accounts = new Map<string, Account>();

/** The public, without an account: what "Run as anonymous." names. */
const ANONYMOUS = "anonymous";

async function accountFor(username: string): Promise<Account> {
  const known = accounts.get(username);
  if (known) return known;
  if (username === ANONYMOUS) {
    const account = { username, ...clientFor(null), units: [], unitCodes: [] };
    accounts.set(username, account);
    return account;
  }
  const anonymous = clientFor(null);
  const login = dataOf(
    await anonymous.client
      .mutation(documents.ClientLoginDocument, { username, password: PASSWORD })
      .toPromise(),
    "ClientLogin",
  ).login;
  await anonymous.socket.dispose();
  const token = login.token ?? fail(`login as ${username} failed: ${JSON.stringify(login.errors)}`);
  const { client, socket } = clientFor(token);
  const me = dataOf(await client.query(documents.ClientMyUnitsDocument, {}).toPromise(), "ClientMyUnits").me;
  if (me?.username !== username) fail(`me is ${JSON.stringify(me)}, not ${username}`);
  const account = {
    username,
    client,
    socket,
    units: me.roles.map((grant) => grant.orgUnit.id),
    unitCodes: me.roles.map((grant) => grant.orgUnit.code),
  };
  accounts.set(username, account);
  return account;
}

// -- the examples of docs/queries ---------------------------------------------------------

type NameOf<Key> = Key extends `${infer Name}Document` ? Name : never;
/** The operations of docs/queries: every generated document but the client's own. */
type ExampleName = Exclude<NameOf<keyof typeof documents>, `Client${string}`>;
type ExampleDocument<Name extends ExampleName> = (typeof documents)[`${Name}Document`];

/** How each example finds its variables in the demo data: tsc fails when an example of
 * docs/queries has no entry here, or when an entry gives variables of the wrong shape. */
/** The demo's closed complaint about 倒流河罗布段 (demo/history.py, DEMO_RECEIPTS). */
const DEMO_RECEIPT = "YVGE-2K46-633E";

const VARIABLES: {
  [Name in ExampleName]: (account: Account) => Promise<VariablesOf<ExampleDocument<Name>>>;
} = {
  CountyMonthlyReport: async (account) => ({
    county: first(account.units, "unit"),
    month: lastFullMonth(),
  }),
  DepartmentHeadField: async () => ({}),
  GridLeaderInbox: async () => ({}),
  GridLeaderMyTasks: async (account) => ({ grid: first(account.unitCodes, "unit code") }),
  GridLeaderScreen: async () => ({}),
  InspectorAssignmentHistory: async () => ({ first: 50 }),
  InspectorProveEvent: async (account) => {
    const found = dataOf(
      await account.client.query(documents.ClientNewestVerificationDocument, {}).toPromise(),
      "ClientNewestVerification",
    );
    return {
      county: first(account.units, "unit"),
      event: first(found.auditEvents.edges, "task.verify event").node.id,
    };
  },
  InspectorWhoCouldVerify: async (account) => {
    const found = dataOf(
      await account.client.query(documents.ClientFirstVerifiedTaskDocument, {}).toPromise(),
      "ClientFirstVerifiedTask",
    );
    const task = first(found.tasks.edges, "verified task").node;
    return { task: task.id, at: task.createdAt }; // a moment inside the task's life
  },
  PublicComplaintStatus: async () => ({ receipt: DEMO_RECEIPT }),
  TownshipDashboard: async (account) => ({ township: first(account.units, "unit") }),
  TownshipHeadComplaint: async (account) => {
    const found = dataOf(
      await account.client.query(documents.ClientComplaintNoticesDocument, {}).toPromise(),
      "ClientComplaintNotices",
    );
    const tasks = found.notifications.edges
      .filter((edge) => edge.node.kind === "COMPLAINT_RECEIVED")
      .map((edge) => edge.node.task?.id ?? fail("a complaint notice without its task"));
    return { task: tasks.at(-1) ?? fail("no complaint notice") }; // the oldest: closed
  },
  TownshipRanking: async (account) => ({
    unit: first(account.units, "unit"),
    period: lastFullMonth(),
  }),
  VillageSecretaryNotifications: async () => ({}),
};

/** The month before this one in China Standard Time, YYYY-MM: the demo's dates are relative
 * to its load, and its monthly figures fall in that month (`last_month_day` in demo/data). */
function lastFullMonth(): string {
  const now = new Date(Date.now() + 8 * 3_600_000);
  const first = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  return first.toISOString().slice(0, 7);
}

function isExample(name: string): name is ExampleName {
  return Object.hasOwn(VARIABLES, name);
}

/** Root fields that came back null, as an empty list or as an empty connection. */
function emptyRootFields(data: object): string[] {
  return Object.entries(data)
    .filter(([, value]) => {
      if (value === null || value === undefined) return true;
      if (Array.isArray(value)) return value.length === 0;
      if (typeof value === "object") {
        const connection = value as { totalCount?: unknown; edges?: unknown };
        return (
          connection.totalCount === 0 ||
          (Array.isArray(connection.edges) && connection.edges.length === 0)
        );
      }
      return false;
    })
    .map(([field]) => field);
}

async function runExample(file: string): Promise<void> {
  const text = readFileSync(new URL(file, EXAMPLES), "utf8");
  const username =
    /^#.*\bRun as (\w+)/m.exec(text)?.[1] ?? fail(`${file}: its heading names no account ("Run as <account>.")`);
  const [, kind, name] =
    /^(query|mutation|subscription)\s+(\w+)/m.exec(text) ?? fail(`${file}: no named operation`);
  if (!name || !isExample(name)) fail(`${file}: ${name} has no entry in VARIABLES (clients/src/main.ts)`);
  const account = await accountFor(username);
  const variables = await VARIABLES[name](account);
  const document = documents[`${name}Document`] as TypedDocumentNode<object, AnyVariables>;
  const run =
    kind === "mutation"
      ? account.client.mutation(document, variables)
      : kind === "query"
        ? account.client.query(document, variables)
        : fail(`${file}: a subscription; this client runs the examples' queries and mutations`);
  const data = dataOf(await run.toPromise(), name);
  const empty = emptyRootFields(data);
  if (empty.length > 0) fail(`${file} as ${username}: empty ${empty.join(", ")}`);
  console.log(`ok  ${file} as ${username}: ${Object.keys(data).join(", ")}`);
}

// -- a subscription over graphql-ws -------------------------------------------------------

type Change = ResultOf<typeof documents.ClientTaskChangedDocument>["taskChanged"];

/** As zhaxi_head: subscribe to the township's task changes, then create tasks there (one a
 * second, as the subscription may not be registered yet) until one's event arrives. */
async function subscriptionDelivers(): Promise<void> {
  const account = await accountFor("zhaxi_head");
  const township = first(account.units, "unit");
  const created = new Set<string>();
  const heard: { change: Change | null; failure: Error | null } = { change: null, failure: null };
  const subscription = account.client
    .subscription(documents.ClientTaskChangedDocument, { orgUnitId: township })
    .subscribe((result) => {
      if (result.error) heard.failure = new Error(`ClientTaskChanged: ${result.error.message}`);
      const change = result.data?.taskChanged;
      if (change && created.has(change.task.id)) heard.change = change;
    });
  const deadline = Date.now() + EVENT_WITHIN_MS;
  try {
    while (heard.change === null && heard.failure === null && Date.now() < deadline) {
      const payload = dataOf(
        await account.client
          .mutation(documents.ClientCreateTaskDocument, {
            input: { title: `client check ${created.size + 1}`, category: "OTHER", orgUnitId: township },
          })
          .toPromise(),
        "ClientCreateTask",
      ).createTask;
      if (payload.errors.length > 0) fail(`ClientCreateTask: ${JSON.stringify(payload.errors)}`);
      created.add((payload.task ?? fail("ClientCreateTask: no task")).id);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  } finally {
    subscription.unsubscribe();
  }
  if (heard.failure) throw heard.failure;
  const change: Change = heard.change ?? fail(`no taskChanged event within ${EVENT_WITHIN_MS / 1000} s`);
  if (change.action !== "task.create" || change.task.status !== "ASSIGNED") {
    fail(`unexpected event ${JSON.stringify(change)}`);
  }
  console.log(`ok  subscription taskChanged as zhaxi_head over graphql-ws: ${change.action} ${change.task.title}`);
}

async function main(): Promise<void> {
  const files = readdirSync(EXAMPLES)
    .filter((file) => file.endsWith(".graphql"))
    .sort();
  if (files.length === 0) fail(`no examples in ${EXAMPLES.pathname}`);
  for (const file of files) await runExample(file);
  await subscriptionDelivers();
  await Promise.all([...accounts.values()].map((account) => account.socket.dispose()));
}

const watchdog = setTimeout(() => {
  console.error(`client check: not finished within ${WITHIN_MS / 1000} s`);
  process.exit(1);
}, WITHIN_MS);
watchdog.unref();

main().then(
  () => clearTimeout(watchdog),
  (error: unknown) => {
    console.error(`client check failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
