#!/usr/bin/env node
// An upstream system for orderflow, in plain Node: no Python of the project, only the
// published contract (docs/schemas). It
//   1. opens an account on accounts.events and waits for ordering's AccountRegistered
//      (and shows that an account stated by a non-system actor is answered AccountRejected),
//   2. creates and submits a managed order, confirms it as operator, then as client with
//      the token of the OrderSentToClient event,
//   3. reads orders.events until the order is active.
// Every message it sends, and every event it reads, is validated against its JSON Schema.
//
//   node client.js --bootstrap 127.0.0.1:9092 --prefix run1. [--schemas ../../docs/schemas]
//                  [--timeout 60]
// Exit 0 when the order is active; non-zero with a message on stderr otherwise.
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const { Kafka, logLevel } = require("kafkajs");
const Ajv2020 = require("ajv/dist/2020");
const addFormats = require("ajv-formats");

function options(argv) {
  const opts = {
    bootstrap: process.env.KAFKA_BOOTSTRAP_SERVERS || "127.0.0.1:9092",
    prefix: process.env.ORDERFLOW_TOPIC_PREFIX || "",
    schemas: path.resolve(__dirname, "..", "..", "docs", "schemas"),
    timeout: 60,
  };
  for (let i = 2; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, "");
    if (!(name in opts) || argv[i + 1] === undefined) throw new Error(`unknown option ${argv[i]}`);
    opts[name] = name === "timeout" ? Number(argv[i + 1]) : argv[i + 1];
  }
  return opts;
}

// -- the contract: docs/schemas/index.json names each message's schema and Kafka key ----------

class Contract {
  constructor(dir) {
    this.dir = dir;
    this.index = JSON.parse(fs.readFileSync(path.join(dir, "index.json"), "utf8"));
    // strict: false because the schemas carry OpenAPI's `discriminator` annotation, which
    // JSON Schema validators are meant to ignore.
    this.ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(this.ajv);
    this.validators = new Map();
  }

  entry(topic, type) {
    const found = this.index.topics[topic] && this.index.topics[topic].messages[type];
    if (!found) throw new Error(`the contract has no ${type} on ${topic}`);
    return found;
  }

  validate(topic, message) {
    const id = `${topic}/${message.type}`;
    if (!this.validators.has(id)) {
      const file = path.join(this.dir, this.entry(topic, message.type).schema);
      this.validators.set(id, this.ajv.compile(JSON.parse(fs.readFileSync(file, "utf8"))));
    }
    const check = this.validators.get(id);
    if (!check(message)) {
      throw new Error(`${message.type} does not match its schema: ${this.ajv.errorsText(check.errors)}`);
    }
  }

  key(topic, message) {
    // Every message this client writes is keyed by one plain field (the index says which).
    const [field] = this.entry(topic, message.type).key.fields;
    return String(message[field]);
  }
}

// -- the client ---------------------------------------------------------------------------

const today = (days = 0) => new Date(Date.now() + days * 86400e3).toISOString().slice(0, 10);
const instant = (days = 0) => new Date(Date.now() + days * 86400e3).toISOString();

function envelope(type, actor, correlationId) {
  return {
    message_id: crypto.randomUUID(),
    type,
    occurred_at: instant(),
    correlation_id: correlationId,
    actor,
  };
}

// The CloudEvents binary-mode headers docs/asyncapi promises on every published message.
function checkHeaders(topic, event, raw) {
  const header = (name) => (raw[name] === undefined ? undefined : raw[name].toString("utf8"));
  const expected = {
    ce_specversion: "1.0",
    ce_id: event.message_id,
    ce_type: `orderflow.${topic}.${event.type}`,
    "content-type": "application/json",
    correlation_id: event.correlation_id,
  };
  for (const [name, value] of Object.entries(expected)) {
    if (header(name) !== value) {
      throw new Error(`${event.type} on ${topic}: header ${name} is ${header(name)}, not ${value}`);
    }
  }
  if (!/^\/orderflow\/[a-z]+$/.test(header("ce_source") || "")) {
    throw new Error(`${event.type} on ${topic}: ce_source is ${header("ce_source")}`);
  }
  if (Date.parse(header("ce_time")) !== Date.parse(event.occurred_at)) {
    throw new Error(`${event.type} on ${topic}: ce_time ${header("ce_time")} is not occurred_at`);
  }
}

class Upstream {
  constructor(opts, contract) {
    this.opts = opts;
    this.contract = contract;
    this.kafka = new Kafka({
      clientId: "orderflow-upstream-example",
      brokers: opts.bootstrap.split(","),
      logLevel: logLevel.ERROR,
    });
    this.producer = this.kafka.producer();
    this.consumer = this.kafka.consumer({ groupId: `upstream-example-${crypto.randomUUID()}` });
    this.seen = [];
    this.waiters = [];
    this.failure = null;
  }

  topic(name) {
    return this.opts.prefix + name;
  }

  async start(topics) {
    await this.producer.connect();
    await this.consumer.connect();
    for (const name of topics) {
      await this.consumer.subscribe({ topic: this.topic(name), fromBeginning: true });
    }
    await this.consumer.run({
      eachMessage: async ({ topic, message }) => {
        const base = topic.slice(this.opts.prefix.length);
        try {
          const event = JSON.parse(message.value.toString("utf8"));
          this.contract.validate(base, event); // the events match the published schemas too
          checkHeaders(base, event, message.headers || {});
          this.seen.push({ topic: base, key: message.key && message.key.toString(), event });
        } catch (error) {
          this.failure = this.failure || error; // reported by the next wait, not retried
        }
        this.waiters = this.waiters.filter((w) => !w.check());
      },
    });
  }

  async send(topicName, message) {
    this.contract.validate(topicName, message);
    await this.producer.send({
      topic: this.topic(topicName),
      messages: [
        {
          key: this.contract.key(topicName, message),
          value: JSON.stringify(message),
          headers: { "content-type": "application/json" },
        },
      ],
    });
  }

  // The first event on `topicName` for which `match` is true.
  waitFor(topicName, what, match) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${what} on ${topicName} within ${this.opts.timeout}s`)),
        this.opts.timeout * 1000,
      );
      const waiter = {
        check: () => {
          if (this.failure) {
            clearTimeout(timer);
            reject(this.failure);
            return true;
          }
          const found = this.seen.find((s) => s.topic === topicName && match(s.event));
          if (found) {
            clearTimeout(timer);
            resolve(found);
          }
          return Boolean(found);
        },
      };
      if (!waiter.check()) this.waiters.push(waiter);
    });
  }

  // The answer to a command: its first event, or a failure naming the rejection.
  async answer(command, expected) {
    const { event } = await this.waitFor("orders.events", `answer to ${command.type}`,
      (e) => e.causation_id === command.message_id || e.command_id === command.message_id);
    if (event.type !== expected) {
      throw new Error(`${command.type} answered ${event.type}: ${event.reason || ""} ${event.message || ""}`);
    }
    console.log(`order ${event.order_id}: ${command.type} -> ${event.type} (status ${event.status})`);
    return event;
  }

  async stop() {
    await this.consumer.disconnect();
    await this.producer.disconnect();
  }
}

async function openAccount(up, run) {
  const billing = { id: "billing", role: "system" };
  const opened = {
    ...envelope("AccountOpened", billing, crypto.randomUUID()),
    account_id: `acc-${run}`,
    name: "Acme Corp",
    contact: { email: "billing@acme.example.com", name: "Acme billing" },
    created_on: today(-30),
    bill_cycle_day: 1,
  };
  await up.send("accounts.events", opened);
  const { key, event } = await up.waitFor("accounts.answers", "AccountRegistered",
    (e) => e.event_id === opened.message_id);
  if (event.type !== "AccountRegistered") throw new Error(`AccountOpened answered ${event.type}: ${event.reason}`);
  if (key !== opened.account_id) throw new Error(`the answer is keyed ${key}, not by the account`);
  console.log(`account ${event.account_id}: AccountRegistered (orders from ${event.earliest_order_date})`);

  // Accounts come from the billing system: another actor's statement is refused, with a reason.
  const forged = { ...opened, ...envelope("AccountOpened", { id: "agent-1", role: "agent" }, opened.correlation_id), account_id: `acc-${run}-forged` };
  await up.send("accounts.events", forged);
  const refused = await up.waitFor("accounts.answers", "AccountRejected", (e) => e.event_id === forged.message_id);
  if (refused.event.type !== "AccountRejected") throw new Error(`a forged account was ${refused.event.type}`);
  console.log(`account ${forged.account_id}: AccountRejected (${refused.event.reason})`);
}

async function managedOrder(up, run) {
  const orderId = crypto.randomUUID();
  const correlation = crypto.randomUUID();
  const member = { id: `member-${run}`, role: "member", contact: { email: "member@shop.example.com" } };
  const client = { id: `client-${run}`, role: "client", contact: { email: "client@buyer.example.com", name: "Ada" } };
  const asMember = { id: member.id, role: "member" };

  const create = {
    ...envelope("CreateOrder", asMember, correlation),
    order_id: orderId,
    parties: [member, client],
    terms: {
      flow: "managed",
      description: "Website maintenance",
      offer_valid_until: instant(10),
      service_start: today(14),
      service_end: today(60),
      planned_invoices: [{ invoice_date: today(14), amount: { amount: "1200.00", currency: "EUR" } }],
    },
  };
  await up.send("orders.commands", create);
  await up.answer(create, "OrderCreated");

  const submit = { ...envelope("SubmitOrder", asMember, correlation), order_id: orderId };
  await up.send("orders.commands", submit);
  await up.answer(submit, "OrderSubmitted");

  const review = { ...envelope("ConfirmOrder", { id: "operator-1", role: "operator" }, correlation), order_id: orderId };
  await up.send("orders.commands", review);
  const sent = await up.answer(review, "OrderSentToClient");

  const confirm = {
    ...envelope("ConfirmAsClient", { id: client.id, role: "client" }, correlation),
    order_id: orderId,
    token: sent.confirmation_token,
  };
  await up.send("orders.commands", confirm);
  const active = await up.answer(confirm, "OrderActivated");
  if (active.status !== "active") throw new Error(`the order is ${active.status}, not active`);

  const timeline = up.seen.filter((s) => s.topic === "orders.events" && s.key === orderId).map((s) => s.event.type);
  console.log(`order ${orderId} is active; its events: ${timeline.join(", ")}`);
}

async function main() {
  const opts = options(process.argv);
  const contract = new Contract(opts.schemas);
  const up = new Upstream(opts, contract);
  const run = crypto.randomUUID().slice(0, 8);
  await up.start(["orders.events", "accounts.answers"]);
  try {
    await openAccount(up, run);
    await managedOrder(up, run);
  } finally {
    await up.stop();
  }
  console.log("ok: the order went from draft to active over the published contract");
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`failed: ${error.message}`);
    process.exit(1);
  },
);
