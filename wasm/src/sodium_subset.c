/* tqlib's wasm build compiles only the part of libsodium it uses (Ed25519, SHA-512, BLAKE2b,
 * and ChaCha20 for randombytes). sodium_init() asks every primitive family to pick its fastest
 * implementation; the families left out of the build have nothing to pick, so these do nothing. */
int _crypto_pwhash_argon2_pick_best_implementation(void);
int _crypto_onetimeauth_poly1305_pick_best_implementation(void);
int _crypto_scalarmult_curve25519_pick_best_implementation(void);
int _crypto_stream_salsa20_pick_best_implementation(void);

int _crypto_pwhash_argon2_pick_best_implementation(void) { return 0; }
int _crypto_onetimeauth_poly1305_pick_best_implementation(void) { return 0; }
int _crypto_scalarmult_curve25519_pick_best_implementation(void) { return 0; }
int _crypto_stream_salsa20_pick_best_implementation(void) { return 0; }
