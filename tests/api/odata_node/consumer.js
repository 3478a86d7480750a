// An independent OData v4 consumer from the npm registry (@odata/client, odata-csdl,
// odata-openapi) reading the backupjobs Modern feeds. Run by tests/api/test_odata_node.py:
//   node consumer.js <base URL> <client id> <client secret> <customer id>
// Node 18+ has fetch, which the client uses. It prints one JSON object of what it observed; the Python test checks it.
"use strict";
const { OData } = require("@odata/client");
const { xml2json } = require("odata-csdl");
const { csdl2openapi } = require("odata-openapi");

async function main() {
  const [base, clientId, secret, customerId] = process.argv.slice(2);
  const observed = {};
  const serviceEndpoint = `${base}/partner/`;

  // $metadata through the OASIS converters: parsed, then the OpenAPI they derive from it.
  const metadata = await (await fetch(`${serviceEndpoint}$metadata`)).text();
  const csdl = xml2json(metadata);
  observed.entitySets = Object.keys(csdl["Portal.Api.Model"].Container).filter(
    (name) => !name.startsWith("$") && !name.startsWith("@"),
  );
  const openapi = csdl2openapi(csdl, { scheme: "https", host: "example.com", basePath: "/partner" });
  observed.operations = Object.fromEntries(
    Object.entries(openapi.paths).map(([path, item]) => [
      path,
      Object.keys(item).filter((method) => ["get", "post", "put", "patch", "delete"].includes(method)),
    ]),
  );
  observed.batch = Object.keys(openapi.paths).some((path) => path.includes("$batch"));

  // The feeds through the client, signed in with Basic (Power BI's credential kind).
  const client = OData.New4({
    serviceEndpoint,
    credential: { username: clientId, password: secret },
  });
  const customers = client.getEntitySet("Customers");
  observed.customers = (await customers.query()).map((row) => row.organization);
  observed.top = (await customers.query(client.newOptions().top(2))).map((row) => row.organization);
  observed.count = await customers.count();
  observed.customer = (await customers.retrieve(customerId)).organization;
  const jobs = client.getEntitySet(`Customers(${customerId})/jobs`);
  observed.jobs = (await jobs.query()).map((row) => `${row.jobType}/${row.jobModule}`);
  const one = await jobs.retrieve({ jobType: "Microsoft 365", jobModule: "Microsoft 365 Groups" });
  observed.job = [one.jobId, one.status];
  try {
    await customers.query(client.newOptions().filter("organization eq 'x'"));
    observed.unsupported = "no error";
  } catch (error) {
    observed.unsupported = error.message;
  }
  try {
    await customers.retrieve("notaguid");
    observed.malformed = "no error";
  } catch (error) {
    observed.malformed = error.message;
  }
  const refused = OData.New4({ serviceEndpoint, credential: { username: clientId, password: "bjs_wrong" } });
  try {
    await refused.getEntitySet("Customers").query();
    observed.wrongSecret = "no error";
  } catch (error) {
    observed.wrongSecret = error.message;
  }

  // The history feed: its $metadata through the converters, a folded filter, a count.
  const historyEndpoint = `${base}/api/v1/odata/`;
  const historyCsdl = xml2json(await (await fetch(`${historyEndpoint}$metadata`)).text());
  const historyOpenapi = csdl2openapi(historyCsdl, { scheme: "https", host: "example.com", basePath: "/api/v1/odata" });
  observed.historyOperations = Object.fromEntries(
    Object.entries(historyOpenapi.paths).map(([path, item]) => [
      path,
      Object.keys(item).filter((method) => ["get", "post", "put", "patch", "delete"].includes(method)),
    ]),
  );
  const history = OData.New4({
    serviceEndpoint: historyEndpoint,
    credential: { username: clientId, password: secret },
  });
  const jobsOfHistory = history.getEntitySet("Jobs");
  const failed = history.newFilter().property("status").eq(3);
  observed.historyFailed = (await jobsOfHistory.query(history.newOptions().filter(failed))).map(
    (row) => `${row.jobId}/${row.statusName}`,
  );
  observed.historyCount = await jobsOfHistory.count();
  process.stdout.write(JSON.stringify(observed));
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
