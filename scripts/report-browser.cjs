#!/usr/bin/env node
// Opens a vantage HTML report in headless Chromium (Debian's, through
// playwright-core) from a file:// URL, and either
//   --check STEPS.json  prints JSON: console errors, page errors, requests
//                       other than the page itself, every matrix cell's
//                       state, and the shown/visible findings count after
//                       each step (tests/it/html_report.rs asserts on it);
//   --screenshot OUT.png saves a full-page PNG (scripts/report-screenshot.sh).
// Steps: [{"uncheck": "#sev-low"}, {"select": ["#f-rule", "exposure"]},
//          {"click": "button[type=reset]"}, ...], each then counted.
// Environment: VANTAGE_CHROMIUM (default /usr/bin/chromium),
// VANTAGE_PLAYWRIGHT_CORE (the playwright-core folder; default: resolved
// as a module).
"use strict";
const path = require("path");
const fs = require("fs");

function usage() {
  process.stderr.write("usage: report-browser.cjs REPORT.html (--check STEPS.json | --screenshot OUT.png [--open N])\n");
  process.exit(2);
}

async function main() {
  const args = process.argv.slice(2);
  if (args.length < 3) { usage(); }
  const report = path.resolve(args[0]);
  const mode = args[1];
  const target = args[2];
  const open = args[3] === "--open" ? Number(args[4]) : 0;
  if (mode !== "--check" && mode !== "--screenshot") { usage(); }
  const { chromium } = require(process.env.VANTAGE_PLAYWRIGHT_CORE || "playwright-core");
  const browser = await chromium.launch({
    executablePath: process.env.VANTAGE_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    // As the machine notes say: nothing of Chromium's own may reach out.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--disable-dev-shm-usage"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    const seen = { console: [], pageErrors: [], requests: [] };
    const url = require("url").pathToFileURL(report).href;
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") { seen.console.push(m.type() + ": " + m.text()); }
    });
    page.on("pageerror", (e) => seen.pageErrors.push(String(e)));
    page.on("request", (r) => { if (r.url() !== url) { seen.requests.push(r.url()); } });
    await page.goto(url, { waitUntil: "load" });
    if (mode === "--screenshot") {
      const details = await page.$$("#findings-list details");
      for (const d of details.slice(0, open)) { await d.evaluate((e) => { e.open = true; }); }
      await page.screenshot({ path: target, fullPage: true });
      if (seen.console.length || seen.pageErrors.length || seen.requests.length) {
        process.stderr.write(JSON.stringify(seen) + "\n");
        process.exitCode = 1;
      }
      return;
    }
    const steps = JSON.parse(fs.readFileSync(target, "utf8"));
    const count = () => page.evaluate(() => {
      const shown = document.getElementById("shown-count");
      const visible = Array.from(document.querySelectorAll("#findings-list > li"))
        .filter((li) => li.offsetParent !== null).length;
      return { shown: shown ? Number(shown.textContent) : null, visible: visible };
    });
    const result = {
      console: seen.console,
      pageErrors: seen.pageErrors,
      requests: seen.requests,
      filtersVisible: await page.isVisible("#filters"),
      cells: await page.$$eval("#matrix td.cell", (tds) => tds.map((td) => ({
        vantage: td.dataset.vantage,
        column: td.dataset.column,
        state: td.dataset.state,
        label: td.querySelector(".state").textContent,
      }))),
      initial: await count(),
      steps: [],
    };
    for (const s of steps) {
      if (s.uncheck) { await page.uncheck(s.uncheck); }
      else if (s.check) { await page.check(s.check); }
      else if (s.select) { await page.selectOption(s.select[0], s.select[1]); }
      else if (s.click) { await page.click(s.click); }
      else { throw new Error("unknown step " + JSON.stringify(s)); }
      result.steps.push(Object.assign({ step: s }, await count()));
    }
    // Errors after the steps count too.
    result.console = seen.console;
    result.pageErrors = seen.pageErrors;
    result.requests = seen.requests;
    process.stdout.write(JSON.stringify(result) + "\n");
  } finally {
    await browser.close();
  }
}

main().catch((e) => { process.stderr.write(String(e && e.stack || e) + "\n"); process.exit(1); });
