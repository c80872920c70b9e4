// Two chat turns in one session: the second turn reuses the KV cache of the first, so only its
// own tokens run through the model.
//   example_chat [MODEL]     (default: models/tqlib-default.mv2)
#include <cstdio>
#include <string>

#include <tqlib/tqlib.hpp>

int main(int argc, char** argv) {
  auto model = tqlib::open_model(argc > 1 ? argv[1] : "models/tqlib-default.mv2");
  if (!model) return std::fprintf(stderr, "%s\n", model.err().what().c_str()), 1;
  auto session = model->new_session();
  if (!session) return std::fprintf(stderr, "%s\n", session.err().what().c_str()), 1;

  tqlib::generate_options opt;
  opt.max_tokens = 24;
  opt.sampling.temperature = 0;
  auto print = [](const tqlib::token_event& e) {
    std::fwrite(e.text.data(), 1, e.text.size(), stdout);
    return true;
  };
  std::size_t ran[2] = {}, reused[2] = {}, total[2] = {};
  const char* turns[2] = {"Tell me about the city.", "And what about its people?"};
  for (int t = 0; t < 2; ++t) {
    std::printf("user: %s\nassistant: ", turns[t]);
    auto reply = session->chat(turns[t], opt, print);  // rendered with the model's chat template
    if (!reply) return std::fprintf(stderr, "\n%s\n", reply.err().what().c_str()), 1;
    ran[t] = reply->stats.prompt_tokens;
    reused[t] = reply->stats.cached_tokens;
    total[t] = session->tokens().size();
    std::printf("\n[turn %d: ran %zu new tokens, %zu reused from the cache]\n", t + 1, ran[t], reused[t]);
  }
  // The second turn ran only its own message (and the first reply's last sampled token, which
  // waits for the next call), not the whole conversation again.
  const bool ok = reused[1] + 1 == total[0] && ran[1] < total[0];
  std::printf("%s\n", ok ? "cache reused" : "FAILED: the second turn ran the conversation again");
  return ok ? 0 : 1;
}
