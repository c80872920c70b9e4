// Open a model and stream 32 tokens of text, as they are generated.
//   example_generate [MODEL] [PROMPT]     (default: models/tqlib-default.mv2, "The history of the city")
#include <cstdio>
#include <string>

#include <tqlib/tqlib.hpp>

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "models/tqlib-default.mv2";
  const std::string prompt = argc > 2 ? argv[2] : "The history of the city";

  auto model = tqlib::open_model(path);  // MV2 file, Hugging Face folder or .safetensors
  if (!model) return std::fprintf(stderr, "%s\n", model.err().what().c_str()), 1;
  auto session = model->new_session();
  if (!session) return std::fprintf(stderr, "%s\n", session.err().what().c_str()), 1;

  tqlib::generate_options opt;
  opt.max_tokens = 32;
  opt.sampling.temperature = 0;  // greedy: the same text every time
  std::printf("%s", prompt.c_str());
  auto out = session->generate(prompt, opt, [](const tqlib::token_event& e) {
    std::fwrite(e.text.data(), 1, e.text.size(), stdout);  // never half a UTF-8 character
    std::fflush(stdout);
    return true;  // false would stop here
  });
  if (!out) return std::fprintf(stderr, "\n%s\n", out.err().what().c_str()), 1;

  const auto& st = out->stats;
  std::printf("\ngenerated %zu tokens (%s); prompt %zu tokens at %.0f tokens/s, decode %.0f tokens/s, %.1f MB of weights per token\n",
              st.generated_tokens, std::string(tqlib::to_string(st.finish)).c_str(), st.prompt_tokens,
              st.prefill_tokens_per_second(), st.decode_tokens_per_second(), double(st.weight_bytes_per_token) / 1e6);
  return st.generated_tokens > 0 ? 0 : 1;
}
