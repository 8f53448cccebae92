// harness/src/invocations.cpp -- see invocations.hpp.
#include "invocations.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <ostream>
#include <random>
#include <stdexcept>
#include <thread>

#include "aggregates.hpp"
#include "platform.hpp"
#include "report.hpp"

namespace csync::bench {

namespace {

/// The diagnostic runs of every invocation as one: operations and
/// violations summed, the most holders seen, the statistics per operation
/// weighted by each run's operations (null for peers, which have none).
nlohmann::json combined_diagnostic(const std::vector<const nlohmann::json*>& entries) {
  std::uint64_t operations = 0, violations = 0, max_holders = 0;
  for (const nlohmann::json* e : entries) {
    const nlohmann::json& d = (*e)["diagnostic"];
    operations += d["operations"].get<std::uint64_t>();
    violations += d["violations"].get<std::uint64_t>();
    max_holders = std::max(max_holders, d["max_holders"].get<std::uint64_t>());
  }
  nlohmann::json out = {{"operations", operations}, {"max_holders", max_holders}, {"violations", violations}};
  for (const char* stat : {"wakes_per_op", "spurious_per_op", "futile_per_op"}) {
    double weighted = 0;
    bool known = operations > 0;
    for (const nlohmann::json* e : entries) {
      const nlohmann::json& d = (*e)["diagnostic"];
      if (!d[stat].is_number()) known = false;
      if (known) weighted += d[stat].get<double>() * d["operations"].get<double>();
    }
    out[stat] = known ? nlohmann::json(weighted / static_cast<double>(operations)) : nlohmann::json();
  }
  return out;
}

/// One cell measured by every invocation: entries[k] is invocation k + 1's
/// (invocations are numbered from 1, as their reports' file names).
nlohmann::json merge_cell(const std::vector<const nlohmann::json*>& entries) {
  for (std::size_t k = 0; k < entries.size(); ++k) {
    if ((*entries[k])["status"] == "failed") {
      nlohmann::json failed = *entries[k];
      failed["invocation"] = k + 1;
      return failed;
    }
  }
  const nlohmann::json& first = *entries.front();
  if (first["status"] != "ok") return first;  // unavailable or skipped: the same everywhere
  nlohmann::json out = first;
  nlohmann::json reps = nlohmann::json::array();
  nlohmann::json provenance = nlohmann::json::array();
  histogram_sums histograms;
  for (std::size_t k = 0; k < entries.size(); ++k) {
    const nlohmann::json& e = *entries[k];
    if (e["status"] != "ok") {
      throw std::runtime_error("cell " + first["name"].get<std::string>() + " is " +
                               e["status"].get<std::string>() + " in invocation " +
                               std::to_string(k + 1) + " but ok in the first");
    }
    for (nlohmann::json rep : e["repetitions"]) {
      rep["invocation"] = k + 1;
      reps.push_back(std::move(rep));
    }
    histograms.add_entry(e);
    provenance.push_back(e.value("provenance", nlohmann::json()));
  }
  const bool open_loop = first["measurement"]["latency_loop"] == "open";
  out["harness_overhead"] = overhead_json(reps, open_loop);
  out["aggregates"] = aggregates_json(reps, first["measurement"]["timer_floor_ns"].get<double>());
  out["diagnostic"] = combined_diagnostic(entries);
  histograms.write_to(out);
  out["repetitions"] = std::move(reps);
  out["provenance"] = {{"started", provenance.front().value("started", "")},
                       {"finished", provenance.back().value("finished", "")},
                       {"invocations", std::move(provenance)}};
  return out;
}

/// A distinct seed per invocation, from the run's.
std::uint64_t invocation_seed(std::uint64_t seed, std::uint32_t k) {
  std::seed_seq sequence{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32), k};
  std::mt19937_64 rng(sequence);
  return rng();
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ",") + n;
  return out;
}

/// The child's command line: the same run, one invocation, its own report
/// and seed.
std::vector<std::string> child_command(const std::string& executable, const run_options& options,
                                       const std::string& part, std::uint64_t seed, bool resume) {
  std::vector<std::string> argv = {executable, "run", options.scenario_path, "--output", part,
                                   "--seed", std::to_string(seed)};
  if (!options.strategies.empty()) argv.insert(argv.end(), {"--strategies", joined(options.strategies)});
  if (options.repetitions) argv.insert(argv.end(), {"--repetitions", std::to_string(*options.repetitions)});
  if (options.quick) argv.push_back("--quick");
  if (options.smoke) argv.push_back("--smoke");
  if (options.reference) argv.insert(argv.end(), {"--reference", "--max-load", std::to_string(options.max_load)});
  if (resume) argv.push_back("--resume");
  return argv;
}

/// What this run would record about itself, for mixing_refusal and for
/// keeping an invocation report --resume found complete.
nlohmann::json this_build(const run_options& options) {
  return {{"context", capture_context()},
          {"run",
           {{"quick", options.quick},
            {"smoke", options.smoke},
            {"reference", options.reference},
            {"repetitions_override",
             options.repetitions ? nlohmann::json(*options.repetitions) : nlohmann::json()},
            {"strategies_filter", options.strategies}}}};
}

/// Why an existing invocation report cannot be kept or resumed for this
/// run ("" if it can): another binary or machine, or other settings.
std::string part_refusal(const nlohmann::json& part, const nlohmann::json& build) {
  if (const std::string why = mixing_refusal(part, build); !why.empty()) return why;
  for (const char* key : {"reference", "repetitions_override", "strategies_filter"}) {
    const nlohmann::json was = part["run"].value(key, nlohmann::json());
    if (was != build["run"][key]) {
      return std::string(key) + " " + was.dump() + ", this run has " + build["run"][key].dump();
    }
  }
  return "";
}

/// --reference: before each invocation, wait until the machine is idle
/// again (the previous invocation's load takes minutes to decay). false:
/// interrupted.
bool wait_for_idle(double max_load, std::uint32_t k, std::ostream& err) {
  bool said = false;
  for (;;) {
    const nlohmann::json load = load_average();
    if (!load.is_array() || load[0].get<double>() <= max_load) return true;
    if (interrupt_requested.load()) return false;
    if (!said) {
      err << "csync-bench: invocation " << k << ": waiting for the 1-minute load average "
          << load[0].dump() << " to fall to --max-load " << max_load << "\n";
      said = true;
    }
    std::this_thread::sleep_for(std::chrono::seconds(5));
  }
}

}  // namespace

std::string invocation_report_path(const std::string& output, std::uint32_t k) {
  std::string stem = output;
  if (stem.ends_with(".json")) stem.resize(stem.size() - 5);
  return stem + ".invocation-" + std::to_string(k) + ".json";
}

nlohmann::json merge_invocations(const std::vector<nlohmann::json>& parts) {
  if (parts.empty()) throw std::runtime_error("no invocation reports to merge");
  const nlohmann::json& first = parts.front();
  for (std::size_t k = 0; k < parts.size(); ++k) {
    const nlohmann::json& part = parts[k];
    if (!part["run"].value("complete", false)) {
      throw std::runtime_error("invocation " + std::to_string(k + 1) + " did not complete");
    }
    if (const std::string why = mixing_refusal(first, part); !why.empty()) {
      throw std::runtime_error("invocation 1 was measured with " + why + " in invocation " +
                               std::to_string(k + 1));
    }
    if (part["scenario"]["hash"] != first["scenario"]["hash"]) {
      throw std::runtime_error("invocation " + std::to_string(k + 1) + " ran another version of the scenario");
    }
  }
  nlohmann::json merged = first;
  for (const char* at_end : {"steal_ticks_at_end", "load_average_at_end", "date_end",
                             "burn_ns_per_iteration_at_end"}) {
    if (parts.back()["context"].contains(at_end)) merged["context"][at_end] = parts.back()["context"][at_end];
  }
  std::vector<std::map<std::string, const nlohmann::json*>> by_key(parts.size());
  for (std::size_t k = 0; k < parts.size(); ++k) {
    for (const nlohmann::json& cell : parts[k]["results"]) by_key[k][cell["key"].get<std::string>()] = &cell;
  }
  for (std::size_t k = 1; k < parts.size(); ++k) {
    if (by_key[k].size() != by_key[0].size()) {
      throw std::runtime_error("invocation " + std::to_string(k + 1) + " has " +
                               std::to_string(by_key[k].size()) + " cells, invocation 1 has " +
                               std::to_string(by_key[0].size()));
    }
  }
  merged["results"] = nlohmann::json::array();
  for (const nlohmann::json& cell : first["results"]) {
    const std::string key = cell["key"].get<std::string>();
    std::vector<const nlohmann::json*> entries;
    for (std::size_t k = 0; k < parts.size(); ++k) {
      const auto found = by_key[k].find(key);
      if (found == by_key[k].end()) {
        throw std::runtime_error("invocation " + std::to_string(k + 1) + " has no cell " +
                                 cell["name"].get<std::string>());
      }
      entries.push_back(found->second);
    }
    merged["results"].push_back(merge_cell(entries));
  }
  add_peer_ratios(merged["results"]);
  return merged;
}

int run_invocations(const run_options& options, std::ostream& err) {
  if (options.reference) {
    if (const std::string refused = reference_refusal(options); !refused.empty()) {
      err << "csync-bench: --reference: " << refused << "\n";
      return exit_bad_input;
    }
  }
  const std::optional<std::string> executable = platform::machine_info().executable;
  if (!executable) {
    err << "csync-bench: --invocations: cannot find this program's own path to start it again\n";
    return exit_failure;
  }
  const std::uint64_t seed = options.seed ? *options.seed : std::random_device{}();
  const nlohmann::json build = this_build(options);
  int status = exit_ok;
  nlohmann::json runs = nlohmann::json::array();
  std::vector<nlohmann::json> parts;
  for (std::uint32_t k = 1; k <= options.invocations; ++k) {
    const std::string part = invocation_report_path(options.output_path, k);
    std::uint64_t part_seed = invocation_seed(seed, k);
    bool resume = false;
    if (options.resume && std::filesystem::exists(part)) {
      nlohmann::json previous;
      try {
        previous = read_report(part);
      } catch (const std::exception& e) {
        err << "csync-bench: --resume: " << e.what() << "\n";
        return exit_bad_input;
      }
      if (const std::string why = part_refusal(previous, build); !why.empty()) {
        err << "csync-bench: --resume: " << part << " was measured with " << why
            << "; write to another report instead\n";
        return exit_bad_input;
      }
      if (previous["run"].value("complete", false)) {
        err << "csync-bench: invocation " << k << "/" << options.invocations << ": " << part
            << " is complete; kept\n";
        runs.push_back({{"invocation", k}, {"report", part}, {"seed", previous["run"]["seed"]},
                        {"kept", true}, {"load_average_at_start", previous["context"]["load_average"]}});
        parts.push_back(std::move(previous));
        continue;
      }
      // Continued with the seed it was started with, so that its samplers
      // and arrival schedules go on as they began.
      part_seed = previous["run"]["seed"].get<std::uint64_t>();
      resume = true;
    } else {
      std::filesystem::remove(part);  // a stale report must never pass for this invocation's
    }
    if (options.reference && !wait_for_idle(options.max_load, k, err)) {
      err << "csync-bench: interrupted before invocation " << k << "; run again with --resume\n";
      return exit_interrupted;
    }
    err << "csync-bench: invocation " << k << "/" << options.invocations << " -> " << part << "\n";
    std::string error;
    const int rc = platform::run_process(child_command(*executable, options, part, part_seed, resume),
                                         error, &interrupt_requested);
    if (!error.empty()) {
      err << "csync-bench: --invocations: cannot run " << *executable << ": " << error << "\n";
      return exit_failure;
    }
    if (rc == exit_interrupted || interrupt_requested.load()) {
      err << "csync-bench: interrupted in invocation " << k << "; the invocation reports are kept: "
          << "run again with --resume\n";
      return exit_interrupted;
    }
    if (rc == exit_bad_input) return exit_bad_input;  // the child said why
    if (rc != exit_ok && rc != exit_failure) {
      err << "csync-bench: invocation " << k << " ended with status " << rc << "\n";
      return exit_failure;
    }
    if (!std::filesystem::exists(part)) {
      err << "csync-bench: invocation " << k << " wrote no report (its error is above)\n";
      return exit_failure;
    }
    if (rc == exit_failure) status = exit_failure;  // a csync cell failed; it is in the report
    try {
      parts.push_back(read_report(part));
    } catch (const std::exception& e) {
      err << "csync-bench: " << e.what() << "\n";
      return exit_failure;
    }
    runs.push_back({{"invocation", k}, {"report", part}, {"seed", part_seed}, {"exit_status", rc},
                    {"load_average_at_start", parts.back()["context"]["load_average"]}});
  }
  try {
    nlohmann::json merged = merge_invocations(parts);
    nlohmann::json& run = merged["run"];
    run["seed"] = seed;
    run["command_line"] = options.command_line;
    run["reference"] = options.reference;
    run["max_load"] = options.reference ? nlohmann::json(options.max_load) : nlohmann::json();
    run["invocations"] = options.invocations;
    run["invocation_runs"] = std::move(runs);
    run["complete"] = true;
    write_atomically(options.output_path, merged.dump());
    if (options.gbench_format) {
      write_atomically(options.output_path + ".gbench.json", to_gbench(merged).dump(1));
    }
    err << "csync-bench: " << options.output_path << ": " << merged["results"].size() << " cells, "
        << options.invocations << " invocations merged\n";
  } catch (const std::exception& e) {
    err << "csync-bench: merging the invocations: " << e.what() << "\n";
    return exit_failure;
  }
  return status;
}

}  // namespace csync::bench
