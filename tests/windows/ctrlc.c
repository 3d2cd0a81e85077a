/* The Ctrl+C and Ctrl+Break proof of tests/windows/run.sh (harness only, never shipped).
 *
 *   ctrlc.exe child CODE READY     the program: says it is ready by creating the file READY,
 *                                  then waits up to 20 s for a console event; prints the event
 *                                  it got and exits with CODE, or prints "no event" and exits 3.
 *   ctrlc.exe send C|BREAK READY COMMAND-LINE
 *                                  the person at the console: on a console of its own, starts
 *                                  COMMAND-LINE (inject and the program), waits for READY, sends
 *                                  the event (Ctrl+Break to the new process group that inject
 *                                  leads, Ctrl+C to the whole console: a new group would ignore
 *                                  Ctrl+C), waits for inject and prints its exit code. It ignores
 *                                  both events itself. The programs' output goes where its own
 *                                  went, not to the console. */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>

static volatile LONG event = -1;

static BOOL WINAPI record(DWORD type) {
    InterlockedExchange(&event, (LONG)type);
    return TRUE;
}

static BOOL WINAPI ignore(DWORD type) {
    (void)type;
    return TRUE;
}

static int child(int code, const char *ready) {
    SetConsoleCtrlHandler(record, TRUE);
    HANDLE file = CreateFileA(ready, GENERIC_WRITE, 0, NULL, CREATE_NEW, 0, NULL);
    if (file == INVALID_HANDLE_VALUE) {
        printf("child: cannot create %s\n", ready);
        return 4;
    }
    CloseHandle(file);
    for (int i = 0; i < 200 && event < 0; i++) Sleep(100);
    if (event == CTRL_C_EVENT) printf("child: got CTRL_C_EVENT\n");
    else if (event == CTRL_BREAK_EVENT) printf("child: got CTRL_BREAK_EVENT\n");
    else if (event >= 0) printf("child: got event %ld\n", event);
    else {
        printf("child: no event\n");
        return 3;
    }
    fflush(stdout);
    return code;
}

static int send_event(const char *which, const char *ready, char *command) {
    int brk = strcmp(which, "BREAK") == 0;
    SetConsoleCtrlHandler(ignore, TRUE);
    /* A console of its own, which the programs it starts share; their output still goes
     * where this program's went. */
    HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE), err = GetStdHandle(STD_ERROR_HANDLE);
    SetHandleInformation(out, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
    SetHandleInformation(err, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
    FreeConsole();
    if (!AllocConsole()) printf("send: alloc error %lu\n", GetLastError());
    STARTUPINFOA si = {0};
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    si.hStdOutput = out;
    si.hStdError = err;
    PROCESS_INFORMATION pi;
    DWORD flags = brk ? CREATE_NEW_PROCESS_GROUP : 0;
    if (!CreateProcessA(NULL, command, NULL, NULL, TRUE, flags, NULL, NULL, &si, &pi)) {
        printf("send: cannot start: error %lu\n", GetLastError());
        return 2;
    }
    int i;
    for (i = 0; i < 200 && GetFileAttributesA(ready) == INVALID_FILE_ATTRIBUTES; i++) Sleep(100);
    if (i == 200) {
        printf("send: the program never became ready\n");
        TerminateProcess(pi.hProcess, 9);
        return 2;
    }
    BOOL sent = brk ? GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, pi.dwProcessId)
                    : GenerateConsoleCtrlEvent(CTRL_C_EVENT, 0);
    if (!sent) {
        printf("send: GenerateConsoleCtrlEvent failed: error %lu\n", GetLastError());
        fflush(stdout);
        TerminateProcess(pi.hProcess, 9);
        return 2;
    }
    if (WaitForSingleObject(pi.hProcess, 30000) != WAIT_OBJECT_0) {
        printf("send: inject did not end\n");
        TerminateProcess(pi.hProcess, 9);
        return 2;
    }
    DWORD code;
    GetExitCodeProcess(pi.hProcess, &code);
    printf("send: inject exited with %lu\n", code);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "child") == 0) return child(atoi(argv[2]), argv[3]);
    if (argc == 5 && strcmp(argv[1], "send") == 0) return send_event(argv[2], argv[3], argv[4]);
    fprintf(stderr, "usage: ctrlc child CODE READY | ctrlc send C|BREAK READY COMMAND-LINE\n");
    return 2;
}
