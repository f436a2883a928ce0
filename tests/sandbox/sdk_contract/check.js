// Drive the sandbox with Membrane's own SDK (@membranehq/sdk, pinned in package.json) and parse every
// answer with the SDK's own zod schemas. Usage: node check.js <sandbox url> <token>. Exit 1 on a mismatch.
const sdk = require('@membranehq/sdk');

const [apiUri, token] = process.argv.slice(2);
const membrane = new sdk.MembraneClient({ apiUri, token });
let checks = 0;
const failures = [];

function expect(schema, what, value) {
  checks++;
  const parsed = sdk[schema].safeParse(value);
  if (!parsed.success) failures.push(`${what}: not a ${schema}: ${JSON.stringify(parsed.error.issues).slice(0, 500)}`);
  return value;
}

async function main() {
  // Connections (SDK accessor), each app named by integration.key or the integration by id.
  const connections = (await membrane.connections.find()).items;
  if (connections.length < 3) failures.push(`expected the three seed connections, got ${connections.length}`);
  for (const c of connections) {
    expect('ConnectionApiResponse', `connection ${c.id}`, c);
    expect('IntegrationApiResponse', `integration ${c.integrationId}`, await membrane.get(`integrations/${c.integrationId}`));
  }
  const vtiger = connections[0];

  // Actions at both levels (SDK accessor), de-duplicated by key; run one with connectionId (SDK accessor).
  const integrationLevel = await membrane.actions.findAll({ integrationId: vtiger.integrationId });
  const connectionLevel = await membrane.actions.findAll({ connectionId: vtiger.id });
  for (const a of [...integrationLevel, ...connectionLevel]) expect('ActionApiResponse', `action ${a.key}`, a);
  const query = [...connectionLevel, ...integrationLevel].find((a) => a.key === 'query-records');
  if (!query) throw new Error('no query-records action at either level');
  const run = expect(
    'ActionRunResponse',
    'run',
    await membrane.action(query.id).run({ query: 'SELECT * FROM Contacts LIMIT 1;' }, { connectionId: vtiger.id }),
  );
  expect('ActionRunLogRecordApiResponse', 'run log', await membrane.get(`action-run-logs/${run.actionRunId}`, { details: true }));
  let failedRunId;
  try {
    await membrane.action(query.id).run({ query: 'SELEC nonsense' }, { connectionId: vtiger.id });
  } catch (error) {
    failedRunId = error?.data?.data?.actionRunId ?? error?.data?.actionRunId;
  }
  if (!failedRunId) failures.push('a failed run did not carry actionRunId');
  else expect('ActionRunLogRecordApiResponse', 'failed run log', await membrane.get(`action-run-logs/${failedRunId}`));

  // Connecting: a connection request, the user opens its url, the request reports the connection.
  const request = expect('ConnectionRequest', 'connection request', await membrane.post('connection-requests', { integrationId: vtiger.integrationId }));
  await fetch(request.url);
  const done = expect('ConnectionRequest', 'finished request', await membrane.get(`connection-requests/${request.requestId}`));
  if (done.status !== 'success') failures.push(`connection request status ${done.status}`);
  expect('ConnectionApiResponse', 'requested connection', await membrane.get(`connections/${done.resultConnectionId}`));
  expect('ConnectionApiResponse', 'reconnecting', await membrane.post(`connections/${vtiger.id}/reconnect`));
  expect('ConnectionApiResponse', 'ensured', await membrane.post('connections/ensure', { appUrl: 'bigtincan.com' }));
}

main()
  .catch((error) => failures.push(`error: ${error?.stack ?? error}`))
  .finally(() => {
    for (const failure of failures) console.log(`FAIL ${failure}`);
    console.log(`${checks} checks, ${failures.length} failures`);
    process.exitCode = failures.length ? 1 : 0;
  });
