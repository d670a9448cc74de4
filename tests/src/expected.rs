//! The checks each milestone must report, kept here independently of the
//! kernel so that a check that silently stops running is noticed.

use crate::qmp::{Action, Button, Event, Step};
use std::time::Duration;

/// M0: boot hand-off, serial, CPU tables, fault handling.
pub const M0: &[&str] = &[
    "serial",
    "base_revision",
    "gdt_tss",
    "idt",
    "ist_stacks",
    "boot_stack",
    "tsc",
    "hhdm",
    "memory_map",
    "framebuffer",
    "kernel_file",
    "modules",
    "int3",
    "page_fault_read",
    "page_fault_write",
    "gp_fault",
];

/// M1: frames, page tables with W^X, heap, guarded stacks.
pub const M1: &[&str] = &[
    "frames_stats",
    "frames_roundtrip",
    "frames_contiguous",
    "frames_bad_free",
    "paging_kernel_segments",
    "paging_write_text_faults",
    "paging_exec_data_faults",
    "paging_hhdm_covers_memory_map",
    "paging_framebuffer_wc",
    "paging_4k",
    "paging_2m",
    "paging_1g",
    "paging_protect",
    "heap_sizes_and_alignments",
    "heap_large",
    "heap_fragmentation",
    "heap_collections",
    "kernel_stack_guard",
    "ist_stacks_guarded",
];

/// Checks that may report `skip` instead of `ok` (milestone, name): only
/// those whose subject the machine may lack. Any other skip is a failure.
pub const ALLOWED_SKIPS: &[(&str, &str)] = &[
    // 1 GiB pages are optional: CPUID.80000001H:EDX bit 26 (Intel SDM
    // vol. 3A, 4.1.4) says whether a CPU, or a virtual CPU model, has them.
    ("M1", "paging_1g"),
];

/// M3: ACPI, interrupt controllers, timers (threads and the scheduler
/// add theirs).
pub const M3: &[&str] = &[
    "acpi_tables",
    "pics_masked",
    "ioapic_routing",
    "tsc_vs_reference",
    "lapic_timer_rate",
    "threads_share_the_cpu",
    "exit_wakes_joiners_despite_ticks",
    "priority_preempts",
    "sleep_blocks",
    "ring3_spin_is_preempted_and_killed",
    "user_output_is_tagged",
    "commit_limit_gives_no_memory",
    "memory_exhaustion_is_survivable",
    "m3_tests_program",
    "spawn_exit_cycles_leak_nothing",
];

/// M3 checks that `m3-tests.exe` reports from ring 3, in its order.
pub const M3_USER: &[&str] = &[
    "thread_create_wait_exit_code",
    "wait_multiple_timeout",
    "wait_all",
    "events",
    "sixty_four_threads",
    "handles_refused",
    "demand_zero",
    "sleep_by_counter",
    "user_buffer_rules",
    "vector_registers_survive",
    "pipe_across_processes",
    "terminate_blocked_process",
    "fault_ends_the_process",
    "cpu_bound_processes_progress",
    "benchmarks_ran",
];

/// M4: devices (tree, registry, PCI, PS/2), in the kernel's order.
pub const M4: &[&str] = &[
    "pci_functions_of_q35",
    "pci_bars_sized",
    "failing_probe_is_reported",
    "late_driver_binds",
    "msix_interrupt_from_virtio_rng",
    "i8042_keyboard_and_mouse",
    "input_from_host",
    "m4_user_checks",
    "windows_close_with_their_process",
];

/// M5 checks the suite runs (the DOOM boots have their own lists).
pub const M5: &[&str] = &["boot_files", "m5_user_checks"];
/// M5 checks that `m3-tests.exe crt` reports from ring 3, in its order.
pub const M5_USER: &[&str] = &[
    "file_syscalls",
    "file_syscalls_refuse_bad_calls",
    "file_streams",
    "file_streams_refuse_bad_calls",
    "heap_refuses_bad_frees",
    "malloc_free_measured",
];
/// M6 checks the suite runs (with the pattern disk of `disk.rs`).
pub const M6: &[&str] = &[
    "virtio_blk_disk",
    "hostile_disks_are_refused",
    "hostile_network_devices_are_refused",
    "disk_reads_whole_pattern",
    "disk_writes_reach_the_image",
    "partition_tables",
    "intx_disk_completes_by_interrupt",
    "intx_stuck_line_is_masked",
    "fat_volumes_list_and_read",
    "fat_writes_survive",
    "dhcp_lease",
    "ping_the_gateway",
    "echo_for_the_host",
    "m6_user_checks",
];
/// M6 checks that `m3-tests.exe disk` reports from ring 3, in its order.
pub const M6_USER: &[&str] = &[
    "fopen_reads_a_disk_file",
    "disk_files_by_label_and_partition",
    "disk_names_refused",
    "fprintf_fwrite_reach_a_disk_file",
    "directories_list_create_and_delete",
    "open_files_are_not_shared",
    "rename_replaces_and_moves",
    "programs_start_from_disk",
    "udp_echo_served",
    "tcp_echo_served",
];
/// M7 checks the suite runs (Hyper-V: detection on plain QEMU, VMBus
/// under the simulated host).
pub const M7: &[&str] = &[
    "no_hyperv_on_plain_qemu",
    "hyperv_detected_under_the_model",
    "vmbus_negotiates_and_lists_offers",
    "vmbus_falls_back_from_6_0",
    "hv_keyboard_keys_reach_the_input_service",
    "hv_mouse_reaches_the_input_service",
    "rescind_unbinds_the_driver",
    "hyperv_window_created",
    "messages_from_host",
    "hv_input_reaches_a_program",
    "synthvid_frame_presented",
    "frame_reaches_the_synthvid_vram",
    "storvsc_fat_file_matches_the_ram_disk",
    "udp_echo_through_netvsc",
    "hostile_hosts_do_not_break_the_guest",
];
/// M5 checks of the `test=doom` boot, in order.
pub const M5_DOOM: &[&str] = &[
    "doom_without_its_wad_says_so",
    "doom_with_a_corrupt_wad_ends",
    "doom_reads_its_wad_from_disk",
    "doom_starts",
    "doom_draws_frames",
    "doom_takes_keys",
    "doom_quits_on_close",
];
/// M5 checks of the `test=timedemo` boot.
pub const M5_TIMEDEMO: &[&str] = &["doom_timedemo"];

/// What the host does during a suite boot, as a `&[Step]` whose
/// screendump goes to `$screen` (in `target/test-runs`):
/// - when the milestone kernel prints `STEP input` (its M4
///   `input_from_host` check expects exactly this): types `ferrite!` and
///   Return, moves the mouse by (+20, +10) (QMP's y grows downwards),
///   clicks the left button and turns the wheel up once;
/// - when m4-tests.exe has its pattern on the screen (`screen_drawn`):
///   takes the screendump, then types `h` `i`, clicks, and presses Escape
///   (its `messages_from_host` check expects exactly this);
/// - when it has the pattern over the whole screen at 1×
///   (`full_screen_drawn`): takes a second screendump to `$full`, then
///   types `q`.
///
/// Each trigger is a whole line (the serial port writes CR LF), so a user
/// program's tagged output (`u<pid>| ...`) cannot trigger it.
macro_rules! suite_script {
    ($screen:literal, $full:literal) => {
        &[
            Step {
                when: "\nSTEP input\r\n",
                actions: &[
                    Action::Keys(&["f", "e", "r", "r", "i", "t", "e", "shift-1", "ret"]),
                    Action::Events(&[Event::Move { dx: 20, dy: 10 }]),
                    Action::Events(&[Event::Click(Button::Left)]),
                    Action::Events(&[Event::Click(Button::WheelUp)]),
                ],
            },
            Step {
                when: "\nCHECK M4 screen_drawn ok",
                actions: &[
                    Action::Screendump($screen),
                    Action::Keys(&["h", "i"]),
                    // send-key returns before QEMU releases the keys
                    // (100 ms each); the click must come after them.
                    Action::Pause(Duration::from_millis(600)),
                    Action::Events(&[Event::Click(Button::Left)]),
                    Action::Keys(&["esc"]),
                ],
            },
            Step {
                when: "\nCHECK M4 full_screen_drawn ok",
                actions: &[Action::Screendump($full), Action::Keys(&["q"])],
            },
        ]
    };
}

/// The `-smp 1` suite boot's script (see `suite_script!`).
pub const SUITE_SCRIPT: &[Step<'static>] = suite_script!("suite-m4.ppm", "suite-m4-full.ppm");
/// The `-smp 4` suite boot's script.
pub const SMP_SUITE_SCRIPT: &[Step<'static>] =
    suite_script!("suite-smp-m4.ppm", "suite-smp-m4-full.ppm");

/// M4 checks that `m4-tests.exe` reports from ring 3, in its order.
pub const M4_USER: &[&str] = &[
    "device_tree_listed",
    "get_device_refuses_bad_arguments",
    "create_window_refuses_bad_arguments",
    "window_created",
    "set_screen_buffer_refuses_bad_buffers",
    "screen_drawn",
    "messages_from_host",
    "full_screen_drawn",
    "quit_message",
];

/// Devices every suite boot adds to QEMU's q35 for the M4 checks: a PCI
/// function the kernel has no driver for (the test drivers bind to it),
/// with an I/O BAR, MSI-X and a 64-bit prefetchable BAR.
pub const SUITE_DEVICES: &[&str] = &["-device", "virtio-rng-pci"];

/// M8: the checks the milestone kernel runs when more than one CPU is
/// online (the `-smp 4` boot of the suite).
pub const M8: &[&str] = &[
    "cpus_online",
    "own_tables_per_cpu",
    "threads_run_on_every_cpu",
    "lock_torture",
    "tlb_shootdown",
    "parallel_spawn_and_fault_storm",
    "frame_caches_per_cpu",
    "m8_user_checks",
];

/// M8 checks that `m3-tests.exe smp` reports from ring 3, in its order.
pub const M8_USER: &[&str] = &[
    "cpu_count_and_numbers",
    "threads_run_in_parallel",
    "freed_page_faults_on_other_cpu",
    "same_pages_touched_on_two_cpus",
];

/// QEMU arguments of the multi-CPU boots: four virtual CPUs, each on its
/// own host thread (multi-threaded TCG), so they really run in parallel.
pub const SMP_ARGS: &[&str] = &["-smp", "4", "-accel", "tcg,thread=multi"];

/// [`SMP_ARGS`] with a CPU that has an x2APIC (QEMU 9 or later under
/// TCG): the loader's AP start and the kernel's LAPIC then go through the
/// x2APIC MSRs.
pub const X2APIC_ARGS: &[&str] = &[
    "-smp",
    "4",
    "-accel",
    "tcg,thread=multi",
    "-cpu",
    "max,+x2apic",
];

/// What an [`X2APIC_ARGS`] boot must log: the loader's MP response with
/// the x2APIC flag, and the kernel's LAPIC in x2APIC mode.
pub const X2APIC_LINES: &[(&str, &str)] = &[
    (
        "x2APIC on",
        "the MP response has no x2APIC flag (QEMU 9 or later gives TCG an x2APIC: run `make deps`)",
    ),
    (
        "LAPIC in x2APIC mode",
        "the kernel's LAPIC is not in x2APIC mode",
    ),
];

/// Benchmarks the milestone kernel must print (figures are not judged).
pub const BENCHES: &[&str] = &[
    "frame_alloc",
    "heap_alloc",
    "null_syscall",
    "yield_pingpong",
    "pipe_pingpong",
    "spawn_exit",
    "spawn_exec",
    "page_fault",
    "present_frame_320x200",
    "present_frame_full",
    "present_frame_memcpy",
    "malloc_free",
    "vmbus_roundtrip",
    "storvsc_read_seq",
];

/// M2 checks the kernel runs itself (user programs add theirs, see
/// `M2_USER`).
pub const M2: &[&str] = &[
    "user_protection",
    "ring3_syscall_exit",
    "ring3_exit_thread",
    "ring3_flags_do_not_leak",
    "ring3_fpu_state_is_clean",
    "ring3_fault_does_not_leak",
    "ring3_bad_pointer",
    "fixups_refuse_kernel_addresses",
    "user_copy_faults_come_back",
    "ring3_kernel_read_faults",
    "ring3_isolation",
    "ring3_fault_kinds",
    "pe_rejects_broken",
    "pe_hello_runs",
    "pe_m2_tests_relocated",
    "pe_fault_programs",
    "user_fault_names_the_function",
];

/// M2 checks that `m2-tests.exe` reports from ring 3 (REPORT_CHECK), in
/// its order.
pub const M2_USER: &[&str] = &[
    "nop",
    "debug_write",
    "system_info",
    "process_info",
    "process_stack",
    "process_image",
    "sleep",
    "bad_syscall",
    "alloc_rw",
    "alloc_readonly",
    "alloc_wx_refused",
    "free_pages",
    "bad_pointers_debug_write",
    "bad_pointers_system_info",
    "bad_pointers_process_info",
    "rdata_intact",
    "free_readonly",
    "relocated",
    "relocation_table",
    "runtime_exports",
    "snprintf_formats",
    "printf_console",
    "mem_functions",
    "string_functions",
    "ctype_functions",
    "stack_probe",
    "null_syscall_bench",
];

/// The `test=fuzz` scenario's check (tests/tests/fuzz.rs).
pub const FUZZ: &[&str] = &["syscall_fuzz_survives_and_leaks_nothing"];
