#include "tools/poolbench/report_svg.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "tools/poolbench/contenders.h"
#include "tools/poolbench/scenarios.h"

namespace poolkit::poolbench {
namespace {

constexpr double kPanelWidth = 330;
constexpr double kPanelHeight = 250;
// The plot area inside a panel.
constexpr double kPlotLeft = 50;
constexpr double kPlotRight = 12;
constexpr double kPlotTop = 30;
constexpr double kPlotBottom = 52;
constexpr double kPageMargin = 16;
constexpr double kHeaderHeight = 84;
constexpr double kLegendEntryWidth = 110;

// One colour per contender, in contender order (poolkit's in cool colours,
// simple black, the others warm and grey), distinguishable in print and for
// most colour vision.
constexpr const char* kColours[kNumContenders] = {
    "#1f77b4", "#9467bd", "#2ca02c", "#98df8a", "#17becf",
    "#000000", "#7f7f7f", "#d62728", "#ff7f0e", "#8c564b",
};

std::string Escape(absl::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // XML 1.0 allows no control characters but tab, newline, return.
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\t' || c == '\n') {
          out += c;
        }
    }
  }
  return out;
}

std::string Coordinate(double value) { return absl::StrFormat("%.1f", value); }

std::string TickLabel(double value) {
  if (value >= 1e6) return absl::StrFormat("%gM", value / 1e6);
  if (value >= 1e3) return absl::StrFormat("%gk", value / 1e3);
  return absl::StrFormat("%g", value);
}

// What one panel shows.
enum class PanelKind { kTime, kMemory };

struct Point {
  double size;
  double value;
  double peak = 0;  // memory panels
};

// A log-log panel's axes.
struct Axes {
  double x0, y0, width, height;  // plot area on the page
  double log_x_min, log_x_max, log_y_min, log_y_max;
  double X(double size) const {
    return x0 + (std::log2(size) - log_x_min) / (log_x_max - log_x_min) * width;
  }
  double Y(double value) const {
    return y0 + height -
           (std::log10(value) - log_y_min) / (log_y_max - log_y_min) * height;
  }
};

class SvgWriter {
 public:
  explicit SvgWriter(const Report& report) : report_(report) {}

  std::string Render() {
    CollectLayout();
    double width =
        2 * kPageMargin + std::max<double>(1, columns_.size()) * kPanelWidth;
    // The legend is one row of every contender.
    width = std::max(
        width, 2 * kPageMargin + report_.contenders.size() * kLegendEntryWidth);
    double height = kHeaderHeight +
                    std::max<double>(1, threads_.size()) * kPanelHeight +
                    FooterHeight() + kPageMargin;
    absl::StrAppendFormat(
        &out_,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%s\" "
        "height=\"%s\" viewBox=\"0 0 %s %s\" font-family=\"sans-serif\" "
        "font-size=\"11\">\n",
        Coordinate(width), Coordinate(height), Coordinate(width),
        Coordinate(height));
    absl::StrAppendFormat(
        &out_,
        "<rect x=\"0\" y=\"0\" width=\"%s\" height=\"%s\" fill=\"white\"/>\n",
        Coordinate(width), Coordinate(height));
    Header();
    for (std::size_t row = 0; row < threads_.size(); ++row) {
      for (std::size_t column = 0; column < columns_.size(); ++column) {
        Panel(kPageMargin + column * kPanelWidth,
              kHeaderHeight + row * kPanelHeight, columns_[column].first,
              columns_[column].second, threads_[row]);
      }
    }
    Footer(kHeaderHeight + threads_.size() * kPanelHeight);
    out_ += "</svg>\n";
    return out_;
  }

 private:
  void CollectLayout() {
    for (const PatternVariant& variant :
         AllVariants(report_.options.patterns, report_.options.batches)) {
      columns_.emplace_back(variant, PanelKind::kTime);
      if (variant.pattern == Pattern::kSpike) {
        columns_.emplace_back(variant, PanelKind::kMemory);
      }
    }
    for (const ScenarioResult& scenario : report_.scenarios) {
      int count = scenario.scenario.threads;
      if (std::find(threads_.begin(), threads_.end(), count) ==
          threads_.end()) {
        threads_.push_back(count);
      }
      sizes_.push_back(scenario.scenario.object_size);
    }
    std::sort(threads_.begin(), threads_.end());
    std::sort(sizes_.begin(), sizes_.end());
    sizes_.erase(std::unique(sizes_.begin(), sizes_.end()), sizes_.end());
  }

  double FooterHeight() const { return 16.0 * (report_.contenders.size() + 1); }

  void Text(double x, double y, absl::string_view text,
            absl::string_view attributes = "") {
    absl::StrAppendFormat(
        &out_, "<text x=\"%s\" y=\"%s\"%s%s>%s</text>\n", Coordinate(x),
        Coordinate(y), attributes.empty() ? "" : " ", attributes, Escape(text));
  }

  void Header() {
    const RunContext& context = report_.context;
    Text(kPageMargin, 24,
         absl::StrFormat("poolbench: time per operation against object size "
                         "(log-log; lower is better)"),
         "font-size=\"16\" font-weight=\"bold\"");
    Text(kPageMargin, 42,
         absl::StrFormat("%s, %d CPUs, %s matrix, median of %d repeats of %g "
                         "s; one row per thread count",
                         context.date, context.num_cpus,
                         report_.options.quick ? "quick" : "full",
                         report_.options.repeats,
                         report_.options.min_time_seconds),
         "fill=\"#444\"");
    // The legend: one entry per contender, in a row.
    double x = kPageMargin;
    const double y = 64;
    for (const ContenderReport& contender : report_.contenders) {
      std::string name(ContenderName(contender.id));
      if (contender.status == ContenderStatus::kMissing) name += " (missing)";
      if (contender.status == ContenderStatus::kFailed) name += " (failed)";
      absl::StrAppendFormat(
          &out_,
          "<g><title>%s</title><line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\" "
          "%s/>\n",
          Escape(contender.version.empty() ? contender.problem
                                           : contender.version),
          Coordinate(x), Coordinate(y - 4), Coordinate(x + 24),
          Coordinate(y - 4), LineStyle(contender.id));
      Text(x + 30, y, name);
      out_ += "</g>\n";
      x += kLegendEntryWidth;
    }
  }

  // poolkit's strategies solid, simple dotted, the others dashed.
  std::string LineStyle(ContenderId id) const {
    const char* dashes = IsPoolkit(id) ? ""
                         : id == ContenderId::kSimple
                             ? " stroke-dasharray=\"2 3\""
                             : " stroke-dasharray=\"6 3\"";
    return absl::StrFormat("stroke=\"%s\" stroke-width=\"2\" fill=\"none\"%s",
                           kColours[static_cast<int>(id)], dashes);
  }

  // The points of one contender in one panel, by size.
  std::vector<Point> Points(const PatternVariant& variant, PanelKind kind,
                            int threads, ContenderId id) const {
    std::vector<Point> points;
    for (const ScenarioResult& scenario : report_.scenarios) {
      if (VariantOf(scenario.scenario) != variant ||
          scenario.scenario.threads != threads) {
        continue;
      }
      const Cell* cell = scenario.Find(id);
      if (cell == nullptr || !cell->ok()) continue;
      Point point{static_cast<double>(scenario.scenario.object_size), 0};
      if (kind == PanelKind::kMemory) {
        if (!cell->has_memory) continue;
        point.value = cell->rss_final_mib;
        point.peak = cell->rss_peak_mib;
      } else {
        point.value = Summarize(*cell).median_ns;
      }
      // A log axis cannot show zero; such a value is drawn at its floor.
      if (point.value > 0) points.push_back(point);
    }
    std::sort(points.begin(), points.end(),
              [](const Point& a, const Point& b) { return a.size < b.size; });
    return points;
  }

  void Panel(double left, double top, const PatternVariant& variant,
             PanelKind kind, int threads) {
    const Pattern pattern = variant.pattern;
    std::string title =
        kind == PanelKind::kMemory
            ? absl::StrFormat("spike memory, %d thread%s: MiB after release",
                              threads, threads == 1 ? "" : "s")
            : absl::StrFormat("%s, %d thread%s: ns/op", VariantLabel(variant),
                              threads, threads == 1 ? "" : "s");
    Text(left + kPlotLeft, top + 18, title, "font-weight=\"bold\"");
    Axes axes;
    axes.x0 = left + kPlotLeft;
    axes.y0 = top + kPlotTop;
    axes.width = kPanelWidth - kPlotLeft - kPlotRight;
    axes.height = kPanelHeight - kPlotTop - kPlotBottom;
    absl::StrAppendFormat(&out_,
                          "<rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" "
                          "fill=\"none\" stroke=\"#999\"/>\n",
                          Coordinate(axes.x0), Coordinate(axes.y0),
                          Coordinate(axes.width), Coordinate(axes.height));

    std::vector<std::vector<Point>> lines(kNumContenders);
    double low = 0;
    double high = 0;
    for (ContenderId id : report_.options.contenders) {
      std::vector<Point>& points = lines[static_cast<int>(id)];
      points = Points(variant, kind, threads, id);
      for (const Point& point : points) {
        for (double value : {point.value, point.peak}) {
          if (value <= 0) continue;
          low = low == 0 ? value : std::min(low, value);
          high = std::max(high, value);
        }
      }
    }
    if (high == 0 || sizes_.empty()) {
      Text(axes.x0 + axes.width / 2, axes.y0 + axes.height / 2,
           pattern == Pattern::kCross && threads < 2
               ? "not run: cross needs 2 threads"
               : "no data",
           "text-anchor=\"middle\" fill=\"#777\"");
      return;
    }
    // Log axes with some room around the points.
    axes.log_x_min = std::log2(static_cast<double>(sizes_.front())) - 0.6;
    axes.log_x_max = std::log2(static_cast<double>(sizes_.back())) + 0.6;
    axes.log_y_min = std::floor(std::log10(low) - 0.05);
    axes.log_y_max = std::ceil(std::log10(high) + 0.05);
    YTicks(axes, kind);
    XTicks(axes);

    for (ContenderId id : report_.options.contenders) {
      const std::vector<Point>& points = lines[static_cast<int>(id)];
      if (points.empty()) continue;
      std::string coordinates;
      for (const Point& point : points) {
        absl::StrAppend(&coordinates, coordinates.empty() ? "" : " ",
                        Coordinate(axes.X(point.size)), ",",
                        Coordinate(axes.Y(point.value)));
      }
      absl::StrAppendFormat(
          &out_,
          "<polyline class=\"contender\" data-contender=\"%s\" "
          "points=\"%s\" %s/>\n",
          ContenderName(id), coordinates, LineStyle(id));
      const char* colour = kColours[static_cast<int>(id)];
      for (const Point& point : points) {
        std::string value =
            kind == PanelKind::kMemory
                ? absl::StrFormat("%.1f MiB after release, %.1f MiB peak",
                                  point.value, point.peak)
                : absl::StrFormat("%.3g ns/op", point.value);
        absl::StrAppendFormat(
            &out_,
            "<circle cx=\"%s\" cy=\"%s\" r=\"3\" fill=\"%s\"><title>%s %s: "
            "%s</title></circle>\n",
            Coordinate(axes.X(point.size)), Coordinate(axes.Y(point.value)),
            colour, ContenderName(id),
            Escape(SizeLabel(static_cast<std::size_t>(point.size))), value);
        if (kind == PanelKind::kMemory && point.peak > 0) {
          absl::StrAppendFormat(
              &out_,
              "<circle cx=\"%s\" cy=\"%s\" r=\"3.5\" fill=\"none\" "
              "stroke=\"%s\"><title>%s %s: %.1f MiB peak</title></circle>\n",
              Coordinate(axes.X(point.size)), Coordinate(axes.Y(point.peak)),
              colour, ContenderName(id),
              Escape(SizeLabel(static_cast<std::size_t>(point.size))),
              point.peak);
        }
      }
    }
  }

  void YTicks(const Axes& axes, PanelKind kind) {
    int decades = static_cast<int>(axes.log_y_max - axes.log_y_min);
    // Few decades: 2 and 5 labelled too, so that the axis has enough marks.
    std::vector<double> steps = {1};
    if (decades <= 2) steps = {1, 2, 5};
    for (int exponent = static_cast<int>(axes.log_y_min);
         exponent <= static_cast<int>(axes.log_y_max); ++exponent) {
      for (double step : steps) {
        double value = step * std::pow(10.0, exponent);
        double log_value = std::log10(value);
        if (log_value < axes.log_y_min - 1e-9 ||
            log_value > axes.log_y_max + 1e-9) {
          continue;
        }
        double y = axes.Y(value);
        absl::StrAppendFormat(&out_,
                              "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\" "
                              "stroke=\"%s\"/>\n",
                              Coordinate(axes.x0), Coordinate(y),
                              Coordinate(axes.x0 + axes.width), Coordinate(y),
                              step == 1 ? "#ddd" : "#eee");
        Text(axes.x0 - 4, y + 4, TickLabel(value), "text-anchor=\"end\"");
      }
    }
    Text(axes.x0 - 40, axes.y0 + axes.height / 2,
         kind == PanelKind::kMemory ? "MiB" : "ns/op",
         absl::StrFormat("text-anchor=\"middle\" transform=\"rotate(-90 %s "
                         "%s)\"",
                         Coordinate(axes.x0 - 40),
                         Coordinate(axes.y0 + axes.height / 2)));
  }

  void XTicks(const Axes& axes) {
    const double bottom = axes.y0 + axes.height;
    for (std::size_t size : sizes_) {
      double x = axes.X(static_cast<double>(size));
      absl::StrAppendFormat(&out_,
                            "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\" "
                            "stroke=\"#999\"/>\n",
                            Coordinate(x), Coordinate(bottom), Coordinate(x),
                            Coordinate(bottom + 4));
      // Slanted: neighbouring sizes (16 and 48 KiB) sit close together.
      Text(x, bottom + 14, SizeLabel(size),
           absl::StrFormat("text-anchor=\"end\" transform=\"rotate(-35 %s "
                           "%s)\"",
                           Coordinate(x), Coordinate(bottom + 14)));
    }
    Text(axes.x0 + axes.width, bottom + 46, "object size",
         "text-anchor=\"end\" fill=\"#444\"");
  }

  void Footer(double top) {
    double y = top + 16;
    Text(kPageMargin, y,
         "Contenders (solid: poolkit strategies; dotted: simple, the floor "
         "of a shared path; dashed: the mallocs compared with; spike "
         "memory: open circles = peak):",
         "fill=\"#444\"");
    for (const ContenderReport& contender : report_.contenders) {
      y += 16;
      std::string line = absl::StrCat(ContenderName(contender.id), ": ");
      if (contender.status == ContenderStatus::kOk) {
        absl::StrAppend(&line, contender.version);
        if (!contender.library.empty()) {
          absl::StrAppend(&line, " (LD_PRELOAD=", contender.library, ")");
        }
      } else {
        absl::StrAppend(&line,
                        contender.status == ContenderStatus::kMissing
                            ? "MISSING: "
                            : "FAILED: ",
                        contender.problem);
      }
      Text(kPageMargin, y, line,
           absl::StrFormat("fill=\"%s\"",
                           kColours[static_cast<int>(contender.id)]));
    }
  }

  const Report& report_;
  std::string out_;
  std::vector<std::pair<PatternVariant, PanelKind>> columns_;
  std::vector<int> threads_;
  std::vector<std::size_t> sizes_;
};

}  // namespace

std::string FormatSvg(const Report& report) {
  return SvgWriter(report).Render();
}

}  // namespace poolkit::poolbench
