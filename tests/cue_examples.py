"""One named example per cue family: what must match, and near-misses that must not.

Each entry: family -> (sentence that must contain a cue of the family,
                       sentences that must contain none of it).
"""

CUE_EXAMPLES = {
    "first_person_singular": ("I left my laptop at home.", ["The build is green again."]),
    "first_person_plural": ("Let's ship it; we are ready.", ["The tests passed on Tuesday."]),
    "second_person": ("Did you try restarting your router?", ["Restarting the router helped."]),
    "collective_referent": ("The whole team worked on it together.", ["I worked on it alone."]),
    "my_knowledge": ("My notes explain the whole setup.", ["My lunch was cold.", "I went to lunch."]),
    "our_knowledge": ("Check our playbook before paging anyone.", ["Our office is on the third floor."]),
    "i_know": ("I know exactly why this fails.", ["I don't know why this fails.", "I honestly do not know."]),
    "we_know": ("We've learned that retries hide bugs.", ["We don't know why it broke."]),
    "not_knowing": ("Honestly I have no idea what this flag does.", ["This flag enables caching."]),
    "help_seeking": ("Can anyone help me read this stack trace?", ["Here is the stack trace."]),
    "sharing": ("I wrote it up on the wiki for everyone.",
                ["I went to the meeting.", "We share a flat with two cats."]),
    "guarding": ("That script is my job security, so I keep it to myself.", ["The script runs nightly."]),
    "withholding": ("I'm not posting my setup and I won't share the config.",
                    ["I'm not sure I should post this.", "I posted my setup."]),
    "not_guarding": ("I don't hide my notes; I never keep fixes to myself.",
                     ["I hide nothing from the linter.", "Keep going."]),
    "openness": ("Good point, I stand corrected.", ["The point of the meeting was the budget."]),
    "authority": ("Trust me, I've been doing this for 20 years.", ["I started using it two weeks ago."]),
    "crediting": ("Thanks to Priya, the migration went smoothly; as Tom pointed out, order matters.",
                  ["The migration went smoothly.", "Thanks, Olu, for renaming the channels."]),
    "thanks": ("Thank you, that works now.", ["The fix works now."]),
    "thanks_chore": ("Thanks, Olu, for booking the room on Friday.", ["Thanks, Olu, for explaining the lock order."]),
    "share_other_sense": ("We share a flat and the share price fell.",
                          ["I'll share my notes with the team.", "I shared the folder with the team.",
                           "Share the link to the notes with everyone."]),
    "reuse": ("Someone already solved this upstream, no need to reinvent the wheel.", ["I solved it."]),
    "not_invented_here": ("We'll write our own parser, we never use their code.", ["We use a parser."]),
    "learning": ("TIL, I didn't know that flag existed.", ["The flag exists since 2.0."]),
}
