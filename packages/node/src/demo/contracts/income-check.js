// A data-sharing agreement between a bank and an insurer. For an insurance quote the customer asked
// for, the bank uses the customer's income record (which the bank holds) for the insurer's
// underwriting, and the insurer owes the bank a fee per use, booked here. The use goes through the
// ledger's data.access with the consent basis: once the customer withdraws consent it is refused,
// the whole call fails and no fee is booked. The insurer never gets the record, only the answer of
// the underwriting check it asked for (off the ledger). State holds quote numbers and fees only.
const HOLDER = 'bank';
const USER = 'insurer';
const FEE_CENTS = 250;
const PURPOSE = 'dpv:RequestedServiceProvision';
const QUOTE = /^[A-Z0-9-]{1,40}$/;

function quoteOf(args) {
  if (typeof args.quote !== 'string' || !QUOTE.test(args.quote)) {
    throw new Error('expected args.quote as 1 to 40 capital letters, digits or -');
  }
  return args.quote;
}

function totals() {
  return host.get('fees/total') || { uses: 0, cents: 0, payer: USER, payee: HOLDER };
}

// The bank uses the income record for the quote: allowed only while the customer consents. Only
// the holder can: data.access refuses a record not held by the org whose key signed the call.
exports.use = (args, call) => {
  const quote = quoteOf(args);
  if (host.get(`uses/${quote}`)) throw new Error('this quote already had its use');
  host.system('data.access', { record: args.record, purpose: PURPOSE, basis: 'consent' });
  host.put(`uses/${quote}`, { height: call.height, cents: FEE_CENTS });
  const total = totals();
  total.uses += 1;
  total.cents += FEE_CENTS;
  host.put('fees/total', total);
  host.emit({ type: 'fee-booked', quote: quote, cents: FEE_CENTS });
  return total;
};

// What the insurer owes the bank so far.
exports.fees = () => totals();
