/* SPDX-License-Identifier: MIT */
/*
 * nonexec_entry: rpcd_plugin_entry is typed as a function (STT_FUNC) but
 * lives in a writable, non-executable data section, as
 * __attribute__((section(".data"))) on a function would put it. Calling it
 * would fault; the loader must refuse it. Plain assembler directives, so the
 * file builds on any ELF target.
 */
__asm__(".pushsection .data.rpcd_tp_nonexec, \"aw\"\n"
        ".globl rpcd_plugin_entry\n"
        ".type rpcd_plugin_entry, %function\n"
        "rpcd_plugin_entry:\n"
        ".zero 16\n"
        ".size rpcd_plugin_entry, 16\n"
        ".popsection\n");
