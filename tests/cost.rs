//! The cost of a run, checked against a hand computation: a mock workload whose cache
//! writes (five minutes and one hour) and reads are known in advance, priced in two
//! currencies, one converted at a given rate.

mod common;

/// A prefix of `words` words: the mock counts one token a word.
fn prefix(words: usize, word: &str) -> String {
    vec![word; words].join(" ")
}

fn scenario(prices: &str) -> String {
    format!(
        "name: cost\nseed: 2\ntarget: {{mock: {{ttft: 2ms, jitter: 0, output_tokens: [20, 20]}}, prices: {prices}}}\nmodel: claude-sonnet-4-5\nfx: {{CNY: 0.14}}\nrequests:\n  - {{name: five-minutes, max_tokens: 64, prompt: hi, system: [{{type: text, text: \"{}\", cache_control: {{type: ephemeral}}}}]}}\n  - {{name: one-hour, max_tokens: 64, prompt: hi, system: [{{type: text, text: \"{}\", cache_control: {{type: ephemeral, ttl: 1h}}}}]}}\nload: {{concurrency: 1, requests: 12}}\n",
        prefix(100, "alpha"),
        prefix(300, "beta")
    )
}

#[test]
fn cost_is_the_hand_computation_with_cache_writes_and_reads_in_two_currencies() {
    let usd = common::run_ok("cost-usd", &scenario("{input_per_mtok: 3, output_per_mtok: 15}"));
    let cny = common::run_ok("cost-cny", &scenario("{input_per_mtok: 21, output_per_mtok: 105, currency: CNY}"));
    for r in [&usd, &cny] {
        let (five, hour) = (r.templates[0].requests, r.templates[1].requests);
        assert_eq!(five + hour, 12);
        assert!(five >= 2 && hour >= 2, "both templates ran twice at least: {five} and {hour}");
        let c = r.cost.clone().expect("a cost section");
        // Each prefix is written by its template's first request and read by the rest.
        assert_eq!((c.tokens.cache_write, c.tokens.cache_write_1h), (100 + 300, 300));
        assert_eq!(c.tokens.cache_read, (five - 1) * 100 + (hour - 1) * 300);
        // Every request: the prompt `hi` outside the cache, twenty output tokens.
        assert_eq!((c.tokens.input, c.tokens.output), (12, 12 * 20));
        assert_eq!(c.tokens.input, r.throughput.input_tokens);
    }
    // By hand, US dollars per million: input 3, output 15, cache writes 3.75 (five
    // minutes, 1.25x) and 6 (an hour, 2x), cache reads 0.30 (0.1x).
    let c = usd.cost.clone().expect("cost");
    let (five, hour) = (usd.templates[0].requests as f64, usd.templates[1].requests as f64);
    let reads = (five - 1.0) * 100.0 + (hour - 1.0) * 300.0;
    let hand = (12.0 * 3.0 + 240.0 * 15.0 + 100.0 * 3.75 + 300.0 * 6.0 + reads * 0.30) / 1e6;
    assert!((c.total - hand).abs() < 1e-12, "{} against {hand}", c.total);
    assert_eq!((c.currency.as_str(), c.usd), ("USD", Some(c.total)));
    assert_eq!(usd.throughput.cost_usd, Some(c.total));
    assert!((c.per_ok_request.expect("per request") - hand / 12.0).abs() < 1e-12);
    assert!((c.per_1k_output_tokens.expect("per 1k") - hand * 1000.0 / 240.0).abs() < 1e-12);
    let template_sum: f64 = c.templates.iter().map(|t| t.cost).sum();
    assert!((template_sum - c.total).abs() < 1e-12, "the templates' shares add up");
    assert_eq!((c.failed, c.retried), (0.0, 0.0));
    // In yuan at seven times the dollar prices, and back at the given 0.14.
    let k = cny.cost.clone().expect("cost");
    let (five, hour) = (cny.templates[0].requests as f64, cny.templates[1].requests as f64);
    let reads = (five - 1.0) * 100.0 + (hour - 1.0) * 300.0;
    let hand = (12.0 * 21.0 + 240.0 * 105.0 + 100.0 * 26.25 + 300.0 * 42.0 + reads * 2.1) / 1e6;
    assert!((k.total - hand).abs() < 1e-12, "{} against {hand}", k.total);
    assert_eq!(k.currency, "CNY");
    assert!((k.usd.expect("converted") - hand * 0.14).abs() < 1e-12);
    assert_eq!(cny.throughput.cost_usd, None, "cost_usd is never a yuan figure");
}

#[test]
fn a_ratio_of_the_list_price() {
    let listed = common::run_ok("cost-list", &scenario("{base: list, multiplier: 0.5}"));
    let c = listed.cost.expect("cost");
    // Sonnet 4.5's list price is 3 / 15 US dollars; half of it.
    let (five, hour) = (listed.templates[0].requests as f64, listed.templates[1].requests as f64);
    let reads = (five - 1.0) * 100.0 + (hour - 1.0) * 300.0;
    let hand = 0.5 * (12.0 * 3.0 + 240.0 * 15.0 + 100.0 * 3.75 + 300.0 * 6.0 + reads * 0.30) / 1e6;
    assert!((c.total - hand).abs() < 1e-12, "{} against {hand}", c.total);
    assert!(c.prices_from.contains("scenario"), "{}", c.prices_from);
}

#[test]
fn a_comparison_ranks_targets_by_cost_in_us_dollars_across_currencies() {
    // The same mock work at 3 / 15 US dollars, and at 14 / 70 yuan (1.96 / 9.80 US dollars
    // at 0.14): the yuan-billed target is the cheaper.
    let scenario = "name: costs\nseed: 2\ntargets:\n  - {name: dollars, mock: {ttft: 2ms, jitter: 0, output_tokens: [20, 20]}, prices: {input_per_mtok: 3, output_per_mtok: 15}}\n  - {name: yuan, mock: {ttft: 2ms, jitter: 0, output_tokens: [20, 20]}, prices: {input_per_mtok: 14, output_per_mtok: 70, currency: CNY}}\nmodel: claude-sonnet-4-5\nfx: {CNY: 0.14}\nrequests:\n  - {max_tokens: 64, prompt: hi}\nload: {concurrency: 2, requests: 10}\n";
    let (printed, _) = common::run_expecting("cost-compare", scenario, &[], 0);
    let line = printed.lines().find(|l| l.starts_with("by cost for the same work")).unwrap_or_else(|| panic!("no cost ranking:\n{printed}"));
    // Ten requests of 1 input and 20 output tokens each.
    let (dollars, yuan) = ((1.0 * 3.0 + 20.0 * 15.0) / 1e6, (1.0 * 14.0 + 20.0 * 70.0) * 0.14 / 1e6);
    assert_eq!(line, format!("by cost for the same work (US dollars per request): yuan ${yuan:.6} < dollars ${dollars:.6}"));
}

#[test]
fn billing_honesty_prices_each_target_usage_at_the_reference_prices() {
    // The reference (the official API, at its list price: 3 / 15 US dollars for Sonnet 4.5)
    // and a relay that reports twice the output for the same prompts.
    let scenario = "name: billed\nseed: 2\ntargets:\n  - {provider: anthropic, mock: {ttft: 2ms, jitter: 0, output_tokens: [20, 20]}}\n  - {name: padded, mock: {ttft: 2ms, jitter: 0, output_tokens: [40, 40]}}\nmodel: claude-sonnet-4-5\nrequests:\n  - {max_tokens: 64, prompt: hi}\nload: {concurrency: 2, requests: 10}\n";
    let (printed, out) = common::run_expecting("cost-billed", scenario, &[], 0);
    let comparison: relaybench::report::comparison::Comparison =
        serde_json::from_str(&std::fs::read_to_string(common::only_report_dir(&out).join("comparison.json")).expect("comparison.json")).expect("parses");
    let billed: Vec<Option<f64>> = comparison.targets.iter().map(|t| t.billed_vs_reference).collect();
    // Per request: 1 input token and 20 output tokens against 1 and 40, at 3 and 15.
    let padded = (1.0 * 3.0 + 40.0 * 15.0) / (1.0 * 3.0 + 20.0 * 15.0) - 1.0;
    assert_eq!(billed[0], Some(0.0));
    assert!((billed[1].expect("priced") - padded).abs() < 1e-12, "{billed:?}");
    assert!(printed.lines().any(|l| l.starts_with("billed vs reference") && l.contains("+99.0%")), "{printed}");
}
