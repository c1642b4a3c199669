// Framing a stream connection of the burst port: newline, NUL and RFC 6587 octet-counted
// records, cut anywhere; over-long records cut and counted; malformed counts; checking a
// record for control bytes and a bad <PRI>.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../../src/burst/port_framer.hpp"

namespace relive::burst::port_internal {
namespace {

struct Collect : FrameSink {
  std::vector<std::string> lines, frames;
  void line(std::string_view l) override { lines.emplace_back(l); }
  void frame(std::string_view f) override { frames.emplace_back(f); }
};

// Feeds `input` in pieces of `step` bytes.
Collect frame_all(std::string_view input, size_t step, size_t max_record = 1024) {
  Collect c;
  StreamFramer f(max_record);
  for (size_t i = 0; i < input.size(); i += step) f.feed(input.substr(i, step), c);
  f.finish(c);
  return c;
}

TEST(PortFramer, NewlineAndNulTerminatedLinesAnyChunking) {
  for (size_t step : {1u, 2u, 3u, 7u, 100u}) {
    Collect c = frame_all(std::string("<15>one\n<14>two\0<11>three\nno end", 32), step);
    EXPECT_EQ(c.lines, (std::vector<std::string>{"<15>one\n", "<14>two\n", "<11>three\n", "no end\n"})) << step;
    EXPECT_TRUE(c.frames.empty());
  }
}

TEST(PortFramer, OctetCountedFramesAnyChunking) {
  for (size_t step : {1u, 2u, 5u, 100u}) {
    Collect c = frame_all("7 <15>one11 <11>two\nxyz", step);
    EXPECT_EQ(c.frames, (std::vector<std::string>{"<15>one", "<11>two\nxyz"})) << step;
  }
}

TEST(PortFramer, OverLongRecordsAreCutAndCounted) {
  for (size_t step : {1u, 3u, 50u}) {
    Collect c;
    StreamFramer f(10);
    const std::string input = std::string(25, 'a') + "\nshort\n" + std::string(12, 'b');
    for (size_t i = 0; i < input.size(); i += step) f.feed(std::string_view(input).substr(i, step), c);
    f.finish(c);
    EXPECT_EQ(c.lines, (std::vector<std::string>{std::string(10, 'a') + "\n", "short\n", std::string(10, 'b') + "\n"}))
        << step;
    EXPECT_EQ(f.oversized(), 2u);

    Collect o;
    StreamFramer g(4);
    const std::string frames = "9 123456789" "2 ok";
    for (size_t i = 0; i < frames.size(); i += step) g.feed(std::string_view(frames).substr(i, step), o);
    EXPECT_EQ(o.frames, (std::vector<std::string>{"1234", "ok"})) << step;
    EXPECT_EQ(g.oversized(), 1u);
  }
}

TEST(PortFramer, MalformedCountFallsBackToLines) {
  Collect c;
  StreamFramer f(1024);
  f.feed("12345 DEBUG looks like a pid\n", c);  // a count of 12345: waits for the bytes
  f.finish(c);
  EXPECT_EQ(c.frames.size(), 1u);
  Collect d;
  StreamFramer g(1024);
  g.feed("200x not a count\nnext\n", d);
  EXPECT_EQ(g.malformed(), 1u);
  EXPECT_EQ(d.lines, (std::vector<std::string>{"200x not a count\n", "next\n"}));
}

TEST(PortRecordCheck, ControlBytesAndBadPri) {
  std::string r = "<15>ok\ttab\x01\x7f\r";
  RecordCheck c = check_record(r);
  EXPECT_TRUE(c.binary);
  EXPECT_FALSE(c.malformed);
  EXPECT_EQ(r, "<15>ok\ttab??\r");
  for (std::string bad : {"<999>x", "<>x", "<12", "<abc>"}) EXPECT_TRUE(check_record(bad).malformed) << bad;
  for (std::string good : {"<0>x", "<191>x", "plain", "{\"level\":\"info\"}"}) {
    EXPECT_FALSE(check_record(good).malformed) << good;
  }
}

}  // namespace
}  // namespace relive::burst::port_internal
