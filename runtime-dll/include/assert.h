/* assert.h: a failed assert prints the expression and aborts (exit 3). */
#undef assert
#ifdef NDEBUG
#define assert(e) ((void)0)
#else
_Noreturn void _assert(const char *msg, const char *file, unsigned line);
#define assert(e) ((e) ? (void)0 : _assert(#e, __FILE__, __LINE__))
#endif
