// The npm consumer (@odata/client, odata-csdl, odata-openapi) reading the history feed's
// report sets. Run by tests/api/test_odata_history_consumers.py:
//   node history_consumer.js <base URL> <client id> <client secret> <customer id>
// It prints one JSON object of what it observed; the Python test checks it.
"use strict";
const { OData } = require("@odata/client");
const { xml2json } = require("odata-csdl");
const { csdl2openapi } = require("odata-openapi");

async function main() {
  const [base, clientId, secret, customerId] = process.argv.slice(2);
  const observed = {};
  const serviceEndpoint = `${base}/api/v1/odata/`;
  const csdl = xml2json(await (await fetch(`${serviceEndpoint}$metadata`)).text());
  const container = csdl["Backupjobs.History"].Container;
  observed.entitySets = Object.keys(container).filter((name) => !name.startsWith("$") && !name.startsWith("@"));
  observed.keys = Object.fromEntries(
    ["Job", "Customer", "DailyOutcome"].map((name) => [name, csdl["Backupjobs.History"][name].$Key]),
  );
  const openapi = csdl2openapi(csdl, { scheme: "https", host: "example.com", basePath: "/api/v1/odata" });
  observed.operations = Object.fromEntries(
    Object.entries(openapi.paths).map(([path, item]) => [
      path,
      Object.keys(item).filter((method) => ["get", "post", "put", "patch", "delete"].includes(method)),
    ]),
  );

  const client = OData.New4({ serviceEndpoint, credential: { username: clientId, password: secret } });
  const customers = client.getEntitySet("Customers");
  observed.customers = (await customers.query()).map((row) => `${row.customerName}/${row.jobStatusName}`);
  observed.customerCount = await customers.count();
  const failing = client.newFilter().property("failingServices").gt(0);
  observed.failing = (await customers.query(client.newOptions().filter(failing))).map((row) => row.customerName);
  const days = client.getEntitySet("DailyOutcomes");
  const ofCustomer = client.newOptions().filter(`customerId eq ${customerId}`).select(["date", "jobs", "jobsFailed"]);
  observed.days = (await days.query(ofCustomer)).map(
    (row) => [row.date, row.jobs, row.jobsFailed],
  );
  try {
    await days.query(client.newOptions().filter("date ge 2026-01-01T00:00:00Z"));
    observed.refused = "no error";
  } catch (error) {
    observed.refused = error.message;
  }
  process.stdout.write(JSON.stringify(observed));
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
