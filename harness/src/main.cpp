// harness/src/main.cpp -- the csync-bench command line (CLI11).
#include <csignal>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "catalog.hpp"
#include "invocations.hpp"
#include "report.hpp"
#include "runner.hpp"
#include "scenario.hpp"

namespace {

constexpr const char* exit_codes_help =
    "Exit codes: 0 ok; 2 bad input (scenario file, option, unknown strategy); "
    "1 runtime failure (a csync cell failed: more holders than permits, or workers "
    "left asleep by a lost wake-up; or the report could not be written); 130 interrupted "
    "(the report keeps every finished cell). A failed peer cell is recorded in the "
    "report and does not change the exit status.";

void on_sigint(int) { csync::bench::interrupt_requested.store(true); }

int list_strategies() {
  for (const csync::bench::strategy_runner& r : csync::bench::all_strategies()) {
    std::cout << r.name << (r.is_peer ? " (peer)" : "") << ": "
              << (r.unavailable_reason.empty() ? "available" : "unavailable: " + r.unavailable_reason)
              << "\n";
  }
  return 0;
}

int validate(const std::string& path) {
  try {
    const csync::bench::scenario sc = csync::bench::load_scenario(path, csync::bench::make_catalog());
    std::cout << path << ": ok: scenario '" << sc.name << "', " << sc.cells.size() << " cells";
    if (!sc.excluded.empty()) std::cout << " (" << sc.excluded.size() << " excluded)";
    std::cout << "\n";
    for (const auto& x : sc.excluded) std::cout << "  excluded: " << x.reason << "\n";
    return 0;
  } catch (const csync::bench::scenario_error& e) {
    std::cerr << "csync-bench: " << e.what() << "\n";
    return csync::bench::exit_bad_input;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"csync-bench: run a scenario of synchronization benchmarks and write a JSON report.",
               "csync-bench"};
  app.footer(exit_codes_help);
  // CLI11 reads "/x" as an option on Windows by default; csync-bench's
  // arguments are paths, which under Wine are often Unix paths ("/work/...").
  app.allow_windows_style_options(false);
  app.require_subcommand(1);
  app.set_version_flag("--version", csync::bench::version_text(),
                       "Print the version, commit, compiler and build type, and exit");

  csync::bench::run_options options;
  std::string strategies;
  std::uint32_t repetitions = 0;
  std::uint64_t seed = 0;
  CLI::App* run = app.add_subcommand("run", "Run SCENARIO.json and write the report.");
  run->add_option("scenario", options.scenario_path, "Scenario file (docs/scenario-format.md)")
      ->required();
  run->add_option("-o,--output", options.output_path,
                  "Report file (default: SCENARIO-NAME.report.json in the current directory)");
  run->add_option("--strategies", strategies,
                  "Comma-separated csync strategies to run (peers always run); default: all");
  run->add_option("--repetitions", repetitions, "Repetitions per cell, overriding the scenario")
      ->check(CLI::Range(1u, csync::bench::limits::max_repetitions));
  run->add_option("--invocations", options.invocations,
                  "Run the sweep in N fresh processes, one after the other, and merge their "
                  "reports (each kept as OUTPUT.invocation-K.json): intervals then include the "
                  "variation between processes, which one process cannot show (default 1)")
      ->check(CLI::Range(1u, 100u));
  run->add_flag("--quick", options.quick,
                "Cap durations for a fast look: 100 ms per repetition, 20 ms warmup, 3 repetitions");
  run->add_flag("--smoke", options.smoke,
                "Check that every cell runs: one 5 ms repetition each, no warmup (numbers "
                "meaningless)");
  run->add_flag("--resume", options.resume,
                "Keep the finished cells of the report at --output and run only the rest");
  run->add_flag("--reference", options.reference,
                "A reference run (results/): refuse a csync-bench built from a dirty tree, "
                "--quick/--smoke, and a busy machine (see --max-load)");
  run->add_option("--max-load", options.max_load,
                  "With --reference: the highest 1-minute load average accepted at the start "
                  "(default 0.5)")
      ->check(CLI::NonNegativeNumber);
  run->add_option("--seed", seed, "Seed for the cell order, the latency samplers and the arrival schedules (default: random)");
  std::string format = "csync";
  run->add_option("--format", format,
                  "csync: the report (docs/report-format.md); gbench: also OUTPUT.gbench.json in "
                  "Google Benchmark's format, for its compare.py (the csync report is always "
                  "written: --resume reads it)")
      ->check(CLI::IsMember({"csync", "gbench"}));
  run->footer(exit_codes_help);

  CLI::App* list = app.add_subcommand("list", "List every strategy and peer: available or why not.");
  std::string validate_path;
  CLI::App* check = app.add_subcommand("validate", "Check SCENARIO.json without running it.");
  check->add_option("scenario", validate_path, "Scenario file")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : csync::bench::exit_bad_input;
  }

  if (list->parsed()) return list_strategies();
  if (check->parsed()) return validate(validate_path);

  if (run->count("--repetitions")) options.repetitions = repetitions;
  if (run->count("--seed")) options.seed = seed;
  options.gbench_format = format == "gbench";
  for (std::size_t start = 0; !strategies.empty() && start <= strategies.size();) {
    const std::size_t comma = strategies.find(',', start);
    const std::string name = strategies.substr(start, comma - start);
    if (!name.empty()) options.strategies.push_back(name);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (options.output_path.empty()) {
    try {
      options.output_path =
          csync::bench::load_scenario(options.scenario_path, csync::bench::make_catalog()).name +
          ".report.json";
    } catch (const csync::bench::scenario_error& e) {
      std::cerr << "csync-bench: " << e.what() << "\n";
      return csync::bench::exit_bad_input;
    }
  }
  std::signal(SIGINT, on_sigint);
  options.command_line.assign(argv, argv + argc);
  if (options.invocations > 1) return csync::bench::run_invocations(options, std::cerr);
  return csync::bench::run_scenario(options, std::cerr);
}
