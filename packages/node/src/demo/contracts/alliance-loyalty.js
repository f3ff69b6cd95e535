// An alliance loyalty programme of a retailer and a bank. A member is a commitment (the SHA-256 of
// a loyalty card number), never a name or a contact detail. The retailer books a point per euro of
// a purchase, the bank points per account event. A member who opts out or withdraws consent is
// dropped: the points entry is deleted and a left/ marker stops any further accrual. Only member
// keys can call a contract; the caller (the signing org's key) is kept in the events.
const ACCOUNT_EVENTS = { 'account-opened': 500, 'salary-paid': 50, 'card-payment': 5 };
const REASONS = ['opt-out', 'consent-withdrawn'];
const MEMBER = /^[0-9a-f]{64}$/;
const MAX_CENTS = 10000000;

function memberOf(args) {
  if (typeof args.member !== 'string' || !MEMBER.test(args.member)) {
    throw new Error('expected args.member as a SHA-256 commitment (64 lowercase hex digits)');
  }
  return args.member;
}

function accrue(member, points, call, kind) {
  if (host.get(`left/${member}`)) throw new Error('this member left the programme');
  const entry = host.get(`points/${member}`);
  if (!entry) throw new Error('not a member');
  entry.points += points;
  host.put(`points/${member}`, entry);
  host.emit({ type: 'earned', member: member, points: points, kind: kind, by: call.caller });
  return entry.points;
}

exports.enrol = (args, call) => {
  const member = memberOf(args);
  if (host.get(`left/${member}`)) throw new Error('this member left the programme');
  if (host.get(`points/${member}`)) throw new Error('already a member');
  host.put(`points/${member}`, { points: 0, since: call.height });
  host.emit({ type: 'enrolled', member: member, by: call.caller });
  return 0;
};

// The retailer: a point per whole euro of a purchase.
exports.purchase = (args, call) => {
  const member = memberOf(args);
  const cents = args.amountCents;
  if (!Number.isInteger(cents) || cents < 1 || cents > MAX_CENTS) {
    throw new Error('expected args.amountCents as a whole number from 1 to 10000000');
  }
  return accrue(member, Math.floor(cents / 100), call, 'purchase');
};

// The bank: fixed points per account event.
exports.accountEvent = (args, call) => {
  const member = memberOf(args);
  if (typeof args.event !== 'string' || !Object.hasOwn(ACCOUNT_EVENTS, args.event)) {
    throw new Error('expected args.event as account-opened, salary-paid or card-payment');
  }
  return accrue(member, ACCOUNT_EVENTS[args.event], call, args.event);
};

// A partner drops a member who opted out or withdrew consent on the ledger.
exports.drop = (args, call) => {
  const member = memberOf(args);
  if (!REASONS.includes(args.reason)) throw new Error('expected args.reason as opt-out or consent-withdrawn');
  host.del(`points/${member}`);
  host.put(`left/${member}`, { at: call.height, reason: args.reason });
  host.emit({ type: 'dropped', member: member, reason: args.reason });
  return true;
};

exports.balance = (args) => {
  const entry = host.get(`points/${memberOf(args)}`);
  return entry ? entry.points : null;
};
