// Quantize a Hugging Face checkpoint into a signed MV2 file and print the report, then open the
// result with the public key (the signature is checked before any weight is used).
//   example_quantize [HF_FOLDER] [OUT.mv2] [CODEC]
//   (default: models/default-float, default-q8.mv2, q8; the key pair is written beside OUT)
#include <cstdio>
#include <filesystem>
#include <string>

#include <tqlib/tqlib.hpp>

int main(int argc, char** argv) {
  const std::string in = argc > 1 ? argv[1] : "models/default-float";
  const std::string out = argc > 2 ? argv[2] : "default-q8.mv2";
  tqlib::quantize_policy policy;
  policy.linear_codec = argc > 3 ? argv[3] : "q8";  // embeddings, norms, biases stay f16

  auto keys = tqlib::format::generate_keypair();
  if (!keys) return std::fprintf(stderr, "%s\n", keys.err().what().c_str()), 1;
  std::filesystem::remove(out + ".pub");
  std::filesystem::remove(out + ".key");
  if (auto r = tqlib::format::save_keypair(out, *keys); !r) return std::fprintf(stderr, "%s\n", r.err().what().c_str()), 1;

  tqlib::quantize_options opt;
  opt.signing_key = keys->sec;
  opt.zstd_level = 3;
  auto report = tqlib::quantize_model(in, out, policy, opt);
  if (!report) return std::fprintf(stderr, "%s\n", report.err().what().c_str()), 1;

  std::printf("%s\n%-44s %-8s %-9s %7s %10s\n", report->policy.c_str(), "tensor", "codec", "decided", "bpw", "rel.err");
  for (const auto& t : report->tensors)
    std::printf("%-44s %-8s %-9s %7.3f %10.3e\n", t.name.c_str(), t.codec.c_str(),
                std::string(tqlib::model::source_name(t.source)).c_str(), t.bits_per_weight, t.rel_error);
  std::printf("%zu tensors, linear layers %.3f bpw, file %llu bytes, signed: %s\n", report->tensors.size(),
              report->linear_bits_per_weight(), static_cast<unsigned long long>(report->file_bytes), report->is_signed ? "yes" : "no");

  tqlib::model_options mo;
  mo.trusted_keys = {keys->pub};
  auto model = tqlib::open_model(out, mo);
  if (!model) return std::fprintf(stderr, "%s\n", model.err().what().c_str()), 1;
  std::printf("%s opens with its public key: signature %s\n", out.c_str(), model->signature_verified() ? "verified" : "NOT verified");
  return model->signature_verified() ? 0 : 1;
}
