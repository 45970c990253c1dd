/* Placeholder entry point; replaced by the CLI (issue 2). */
#include <stdio.h>
int main(void) { puts("irhost 0.0.0"); return 0; }
