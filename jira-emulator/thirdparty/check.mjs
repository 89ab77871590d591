// Drives the emulator with jira.js (a published third-party Jira Cloud client, Version3Client)
// exactly as it would drive a real site: create, get, edit, comment, attach, search, delete.
//   node check.mjs http://127.0.0.1:PORT
// Prints "N passed, M failed" and exits non-zero on any failure.
import { Version3Client } from "jira.js";

const host = process.argv[2];
if (!host) {
  console.error("usage: node check.mjs SITE_BASE_URL");
  process.exit(2);
}
const client = new Version3Client({
  host,
  authentication: { basic: { email: "admin@example.com", apiToken: "admin-token" } },
});
const doc = (text) => ({ type: "doc", version: 1, content: [{ type: "paragraph", content: [{ type: "text", text }] }] });

let passed = 0, failed = 0;
async function step(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
  }
}
function expect(cond, msg) {
  if (!cond) throw new Error(msg);
}

let key;
await step("serverInfo", async () => {
  const info = await client.serverInfo.getServerInfo();
  expect(info.deploymentType === "Cloud", `deploymentType ${info.deploymentType}`);
});
await step("myself", async () => {
  const me = await client.myself.getCurrentUser();
  expect(me.emailAddress === "admin@example.com", JSON.stringify(me));
});
await step("project search", async () => {
  const page = await client.projects.searchProjects({ query: "Support" });
  expect(page.values.length === 1 && page.values[0].key === "SUP", JSON.stringify(page));
});
await step("create issue", async () => {
  const created = await client.issues.createIssue({
    fields: { project: { key: "TEST" }, summary: "Created by jira.js", issuetype: { name: "Task" }, description: doc("from a third-party client") },
  });
  key = created.key;
  expect(/^TEST-\d+$/.test(key), JSON.stringify(created));
});
await step("get issue", async () => {
  const issue = await client.issues.getIssue({ issueIdOrKey: key });
  expect(issue.fields.summary === "Created by jira.js", issue.fields.summary);
  expect(issue.fields.description.content[0].content[0].text === "from a third-party client", "description ADF");
  expect(issue.fields.issuetype.name === "Task", "issue type");
});
await step("edit issue", async () => {
  await client.issues.editIssue({ issueIdOrKey: key, fields: { summary: "Edited by jira.js" } });
  const issue = await client.issues.getIssue({ issueIdOrKey: key, fields: ["summary"] });
  expect(issue.fields.summary === "Edited by jira.js", issue.fields.summary);
});
await step("plain-string description is refused like Jira", async () => {
  // jira.js wraps plain strings into ADF itself, so send this one raw.
  const resp = await fetch(`${host}/rest/api/3/issue/${key}`, {
    method: "PUT",
    headers: { "Content-Type": "application/json", Authorization: "Basic " + Buffer.from("admin@example.com:admin-token").toString("base64") },
    body: JSON.stringify({ fields: { description: "plain text" } }),
  });
  const body = await resp.json();
  expect(resp.status === 400 && body.errors.description, `${resp.status} ${JSON.stringify(body)}`);
});
let commentId;
await step("add comment", async () => {
  const c = await client.issueComments.addComment({ issueIdOrKey: key, comment: doc("hello from jira.js") });
  commentId = c.id;
  expect(c.body.content[0].content[0].text === "hello from jira.js", JSON.stringify(c));
});
await step("update and list comments", async () => {
  await client.issueComments.updateComment({ issueIdOrKey: key, id: commentId, body: doc("edited comment") });
  const page = await client.issueComments.getComments({ issueIdOrKey: key });
  expect(page.total === 1 && page.comments[0].body.content[0].content[0].text === "edited comment", JSON.stringify(page));
});
let attachmentId;
await step("attach a file", async () => {
  const list = await client.issueAttachments.addAttachment({
    issueIdOrKey: key,
    attachment: { filename: "notes.txt", file: Buffer.from("attachment body"), mimeType: "text/plain" },
  });
  attachmentId = list[0].id;
  expect(list[0].filename === "notes.txt" && list[0].size === 15, JSON.stringify(list));
});
await step("attachment metadata and content", async () => {
  const meta = await client.issueAttachments.getAttachment({ id: attachmentId });
  expect(meta.filename === "notes.txt", JSON.stringify(meta));
  const content = await client.issueAttachments.getAttachmentContent({ id: attachmentId, redirect: false });
  const text = Buffer.isBuffer(content) ? content.toString() : typeof content === "string" ? content : Buffer.from(content).toString();
  expect(text === "attachment body", `content ${text}`);
});
await step("search with JQL (enhanced search)", async () => {
  const res = await client.issueSearch.searchForIssuesUsingJqlEnhancedSearch({ jql: `project = TEST AND updated >= -1h ORDER BY updated DESC`, fields: ["summary"] });
  expect(res.issues.some((i) => i.key === key && i.fields.summary === "Edited by jira.js"), JSON.stringify(res));
});
await step("delete comment, attachment and issue", async () => {
  await client.issueComments.deleteComment({ issueIdOrKey: key, id: commentId });
  await client.issueAttachments.removeAttachment({ id: attachmentId });
  await client.issues.deleteIssue({ issueIdOrKey: key });
  let gone = false;
  try {
    await client.issues.getIssue({ issueIdOrKey: key });
  } catch {
    gone = true;
  }
  expect(gone, "issue still there");
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
