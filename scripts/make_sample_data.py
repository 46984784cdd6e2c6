"""Generate the project's small, hand-written sample data under ``data/01_raw``.

This script wrote the sample files that ship with the repository. It is NOT needed at
run time (the pipelines read the files it wrote); it is kept so the sample can be
regenerated or extended. All text below was written for this project; none of it is
taken from the EmpatheticDialogues or EPITOME releases. Only the file *formats* follow
the original releases.

Outputs (overwritten on every run; the output is deterministic):

* ``data/01_raw/empatheticdialogues/{train,valid,test}.csv`` - EmpatheticDialogues
  (FAIR release format): header
  ``conv_id,utterance_idx,context,prompt,speaker_idx,utterance,selfeval,tags``, fields
  never quoted, commas inside a field written ``_comma_``. All 32 emotion labels;
  per label 4 conversations in train, 2 in valid, 2 in test. One train conversation
  has a single turn on purpose (the pipeline drops it as too short).
* ``data/01_raw/epitome/{emotional-reactions,interpretations,explorations}-reddit.csv``
  - EPITOME format: header ``id,sp_id,rp_id,seeker_post,response_post,level,rationales``,
  standard CSV quoting, the same 120 (seeker, response) pairs in each file.

Usage::

    python scripts/make_sample_data.py            # writes into ./data/01_raw
    python scripts/make_sample_data.py --out DIR  # writes into DIR
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import string
from pathlib import Path

ED_HEADER = "conv_id,utterance_idx,context,prompt,speaker_idx,utterance,selfeval,tags"
ED_LABELS = (
    "afraid angry annoyed anticipating anxious apprehensive ashamed caring confident content devastated "
    "disappointed disgusted embarrassed excited faithful furious grateful guilty hopeful impressed jealous "
    "joyful lonely nostalgic prepared proud sad sentimental surprised terrified trusting"
).split()
ED_SPLITS = (("train", 4), ("valid", 2), ("test", 2))  # conversations per label, in source order
SELFEVAL_POOL = ["5|5|5_5|5|5"] * 10 + [
    "5|5|5_4|5|5", "4|5|5_5|5|5", "5|5|5_4|4|4", "5|5|5_4|4|5", "4|4|4_5|5|5", "5|4|5_5|5|5", "3|4|5_5|5|4",
]
EPITOME_FILES = {
    "ER": "emotional-reactions-reddit.csv",
    "IP": "interpretations-reddit.csv",
    "EX": "explorations-reddit.csv",
}
EPITOME_HEADER = ["id", "sp_id", "rp_id", "seeker_post", "response_post", "level", "rationales"]
SPAN = re.compile(r"\[(ER|IP|EX)([12]):(.+?)\]")


# --------------------------------------------------------------------------------------------------
# EmpatheticDialogues
# --------------------------------------------------------------------------------------------------
def parse_ed_source(source: str) -> dict[str, list[tuple[str, list[str]]]]:
    """``== label`` starts a label; conversations are blank-line separated; ``> `` marks the prompt."""
    conversations: dict[str, list[tuple[str, list[str]]]] = {}
    label = None
    for block in re.split(r"\n\s*\n", source.strip()):
        lines = [line.strip() for line in block.strip().splitlines() if line.strip()]
        if lines and lines[0].startswith("== "):
            label = lines.pop(0)[3:].strip()
            conversations.setdefault(label, [])
        if not lines:
            continue
        assert label is not None and lines[0].startswith("> "), block
        prompt, turns = lines[0][2:].strip(), lines[1:]
        assert turns, block
        conversations[label].append((prompt, turns))
    return conversations


def ed_field(text: str) -> str:
    assert "_comma_" not in text and "\n" not in text and "\r" not in text, text
    return text.replace(",", "_comma_")


def write_ed(out_dir: Path) -> None:
    conversations = parse_ed_source(ED_SOURCE)
    assert sorted(conversations) == sorted(ED_LABELS), sorted(set(conversations) ^ set(ED_LABELS))
    per_label = sum(n for _, n in ED_SPLITS)
    for label, convs in conversations.items():
        assert len(convs) == per_label, (label, len(convs))

    rng = random.Random(20240611)
    total = len(ED_LABELS) * per_label
    hits = rng.sample(range(3, 12000), total)  # unique HIT numbers across all three files
    hit_iter = iter(hits)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = 0
    for split, n in ED_SPLITS:
        records = []
        for label in ED_LABELS:
            for prompt, turns in conversations[label][start:start + n]:
                hit = next(hit_iter)
                conv_id = f"hit:{hit}_conv:{2 * hit + rng.randint(0, 1)}"
                speaker, listener = rng.sample(range(0, 640), 2)
                selfeval = "" if rng.random() < 0.04 else rng.choice(SELFEVAL_POOL)
                records.append((hit, conv_id, label, prompt, turns, speaker, listener, selfeval))
        start += n
        records.sort(key=lambda r: r[0])  # the release is ordered by HIT
        lines = [ED_HEADER]
        for _, conv_id, label, prompt, turns, speaker, listener, selfeval in records:
            for idx, turn in enumerate(turns, start=1):
                who = speaker if idx % 2 == 1 else listener
                fields = [conv_id, str(idx), label, ed_field(prompt), str(who), ed_field(turn), selfeval, ""]
                assert len(",".join(fields).split(",")) == 8
                lines.append(",".join(fields))
        path = out_dir / f"{split}.csv"
        with path.open("w", encoding="utf-8", newline="\n") as handle:
            handle.write("\n".join(lines) + "\n")
        print(f"wrote {path}: {len(records)} conversations, {len(lines) - 1} rows")


# --------------------------------------------------------------------------------------------------
# EPITOME
# --------------------------------------------------------------------------------------------------
def parse_epitome_source(source: str) -> list[tuple[str, str]]:
    """Blank-line separated ``S:``/``R:`` pairs; ``S: =N`` reuses the seeker post of pair N (1-based)."""
    pairs: list[tuple[str, str]] = []
    for block in re.split(r"\n\s*\n", source.strip()):
        lines = [line.strip() for line in block.strip().splitlines() if line.strip()]
        assert len(lines) == 2 and lines[0].startswith("S: ") and lines[1].startswith("R: "), block
        pairs.append((lines[0][3:].strip(), lines[1][3:].strip()))
    return pairs


def _reddit_id(rng: random.Random, length: int, used: set[str]) -> str:
    alphabet = string.digits + string.ascii_lowercase
    while True:
        value = rng.choice(string.digits[1:] + "abcdef") + "".join(rng.choice(alphabet) for _ in range(length - 1))
        if value not in used:
            used.add(value)
            return value


def write_epitome(out_dir: Path) -> None:
    pairs = parse_epitome_source(EPITOME_SOURCE)
    rng = random.Random(20240612)
    used: set[str] = set()
    seeker_ids: list[str] = []
    seeker_texts: list[str] = []
    rows = {mech: [] for mech in EPITOME_FILES}
    for seeker, marked in pairs:
        if seeker.startswith("="):
            ref = int(seeker[1:]) - 1
            sp_id, seeker = seeker_ids[ref], seeker_texts[ref]
        else:
            sp_id = _reddit_id(rng, 6, used)
        seeker_ids.append(sp_id)
        seeker_texts.append(seeker)
        rp_id = _reddit_id(rng, 7, used)
        response = re.sub(r"\s+", " ", SPAN.sub(lambda m: m.group(3), marked)).strip()
        assert "[" not in response and "]" not in response, marked
        spans = {mech: [] for mech in EPITOME_FILES}
        levels = {mech: 0 for mech in EPITOME_FILES}
        for match in SPAN.finditer(marked):
            mech, level, text = match.group(1), int(match.group(2)), match.group(3).strip()
            assert text in response
            spans[mech].append(text)
            levels[mech] = max(levels[mech], level)
        for mech in EPITOME_FILES:
            rationale = "".join(span + "|" for span in spans[mech])
            rows[mech].append([f"{sp_id}_{rp_id}", sp_id, rp_id, seeker, response, levels[mech], rationale])
    out_dir.mkdir(parents=True, exist_ok=True)
    for mech, filename in EPITOME_FILES.items():
        path = out_dir / filename
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(EPITOME_HEADER)
            writer.writerows(rows[mech])
        counts = {level: sum(1 for row in rows[mech] if row[5] == level) for level in (0, 1, 2)}
        print(f"wrote {path}: {len(rows[mech])} pairs, levels {counts}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "data" / "01_raw")
    args = parser.parse_args()
    write_ed(args.out / "empatheticdialogues")
    write_epitome(args.out / "epitome")


# --------------------------------------------------------------------------------------------------
# Hand-written content. Every label has 8 conversations: the first 4 go to train, then 2 to valid,
# then 2 to test. Plain commas are fine here; they are escaped as _comma_ on output.
# --------------------------------------------------------------------------------------------------
ED_SOURCE = r"""
== afraid
> I heard footsteps downstairs late at night when I was home alone.
I was home alone last night and heard someone walking around downstairs.
Oh no, that would terrify me. What did you do?
I grabbed my phone and hid in the closet. It turned out to be my brother coming home early.
Ha, what a relief! I'd still have had trouble falling asleep after that.

> My flight hit really bad turbulence over the ocean.
Our plane dropped so suddenly on the way to Lisbon that people screamed.
That sounds frightening. Are you normally okay with flying?
I used to be, but now I'm dreading the flight home next week.
That's completely understandable. Maybe a seat over the wing would help, it's supposed to be smoother there.

> A big dog got loose and chased me while I was jogging.
A huge dog chased me for a whole block this morning while I was out running.
Yikes! Did it catch up to you?
No, the owner finally called it back, but my heart was pounding for an hour.
I'd be shaken up too. I was bitten as a kid, so I totally get that fear.

> I had to walk through a dark parking garage alone after work.
The lights were out in the parking garage tonight and I had to walk to my car alone.
That sounds so creepy. Were there other people around?
Not a soul. I practically ran the whole way with my keys between my fingers.
Good thinking. You should tell building management so they fix the lights.
I already emailed them. Hopefully they listen.

> The doctor's office called me back in to look at my scans again.
My doctor's office called and asked me to come back in to go over my scans.
That must be nerve-wracking. Did they say why?
No, just that they wanted to talk in person. I can't stop imagining the worst.
Waiting is the hardest part. I hope it ends up being something minor.

> During the storm a tree branch crashed through our window.
A branch came right through our bedroom window during the storm last night.
Oh my gosh, is everyone alright?
Yes, thankfully. But the sound of the glass breaking is still stuck in my head.

> I thought I lost my little girl at the fair.
I turned around at the county fair and my daughter was just gone.
That's every parent's nightmare. Did you find her quickly?
After about ten minutes. She was watching the pig races like nothing happened.
Kids have no idea how much they scare us. I'm glad she was safe.

> I heard a scratching noise inside the walls of my apartment.
Something keeps scratching inside my bedroom wall at night.
Ugh, that would creep me out. Do you think it's mice?
I hope so. My neighbor said "it could be rats" and now I can't sleep.
Call the landlord tomorrow. No one should have to listen to that all night.

== angry
> My roommate ate the leftovers I was saving for lunch.
I came home starving and my roommate had eaten the leftovers I clearly labeled with my name.
That's so inconsiderate. Has he done this before?
All the time. He always says he'll replace it and never does.
I'd be mad too. Maybe it's time to get a mini fridge for your room.

> Someone keyed my car in the grocery store parking lot.
Someone scratched a long line down the side of my car while I was shopping.
Seriously? Who does that?
I have no idea. There aren't even cameras in that lot.
That's maddening. I'm sorry you have to pay to fix someone else's meanness.

> My coworker took credit for my idea in a meeting.
My coworker presented my project idea to our boss as if it were his own.
Wow, that would make my blood boil. Did you say anything?
Not in the meeting. I was too shocked to speak.
That's understandable. Do you have emails that show it was your idea?
Yes, I do. I'm going to forward them to my manager tomorrow.
Good for you. Don't let him get away with it.

> The mechanic charged me twice what he quoted.
The mechanic quoted me two hundred dollars and then handed me a bill for four hundred.
That's not okay. Did he explain the difference?
He said he found other problems, but he never called to ask me first.

> My brother borrowed my laptop and broke the screen.
My brother borrowed my laptop for one weekend and returned it with a cracked screen.
Oh no. Is he going to pay for it?
He says it was already like that, which is a total lie.
That's the worst part, when they won't own up to it. I'd be angry too.

> A driver cut me off and then yelled at me.
A guy cut me off on the highway and then had the nerve to yell at me.
Some people are unbelievable. Were you okay?
Yes, but I was shaking with anger for the rest of the drive.
I get that. Other people's road rage really sticks with you.

> My landlord entered my apartment without telling me.
I came home and found out my landlord had been inside my apartment without any notice.
That's a huge invasion of privacy. How did you find out?
He left a note saying he "checked the smoke detectors". I never agreed to that.
I'd be livid. I think in most places they legally have to give notice.

> The airline lost my luggage and was rude about it.
The airline lost my suitcase and the agent basically shrugged at me.
Ugh, that's so frustrating. Did they at least give you a claim number?
Eventually. After I asked three times.
I'm sorry. Keep every receipt for the things you have to buy in the meantime.

== annoyed
> My neighbor's dog barks every morning at 5am.
My neighbor's dog starts barking at five every single morning.
That would drive me crazy. Have you talked to them?
I've tried twice. They just say he's a puppy and he'll grow out of it.
Maybe earplugs until then? That sounds exhausting.

> My coworker chews gum loudly right next to me.
The guy who sits next to me chews gum with his mouth open all day.
Oh, that's one of my pet peeves! How do you focus?
Headphones. Lots of headphones.

> The internet went out again in the middle of my online class.
My internet dropped for the third time this week in the middle of my online class.
That's so annoying. Is it your provider?
Yes, and every time I call they tell me to restart the router.
Classic. Maybe ask about switching to a different plan or provider.

> My sister always borrows my clothes without asking.
I found my favorite sweater in my sister's laundry pile again.
Did she even ask to borrow it?
Never. She says we're family, so it doesn't count.
I have a sister like that too. A lock on the closet worked wonders for me.

> People in my building never pick up after their dogs.
I stepped in dog mess on the sidewalk in front of my building again today.
Gross! That would ruin my whole morning.
It did. It's always the same spot too.
Maybe put up a sign? Sometimes people just need a reminder.

> My phone keeps autocorrecting my own name.
My phone keeps changing my own name to "Jazz" every time I type it.
Ha! That's annoying but kind of funny. Can you add it to the dictionary?
I tried, but it goes back to doing it after every update.
Technology is supposed to make life easier. Sorry it's being so stubborn.

> The person in front of me at the store paid for everything in coins.
The lady ahead of me at the store counted out her whole bill in pennies.
Oh no. How long did that take?
Almost ten minutes, and I was already late for work.

> My coworker replies all to every company email.
Someone in my office hits reply all on every single company-wide email.
That is so irritating. Does anyone say anything?
My manager finally did, but he did it with reply all too.
Ha! That's ironic. At least it might stop now.

== anticipating
> I'm waiting to hear back about a job interview.
I had my final interview on Tuesday and they said I'd hear back by Friday.
That's exciting! How do you think it went?
Really well, I think. I just keep checking my email every five minutes.
I know that feeling. Fingers crossed for you!

> My favorite band's new album comes out tomorrow.
My favorite band drops their new album at midnight tonight.
Nice! Are you going to stay up for it?
Absolutely. I already have a snack plan.
Ha, that's commitment. Let me know if it's any good.

> We're finding out the gender of our baby next week.
Next week we finally find out if our baby is a boy or a girl.
Congratulations! Do you have a guess?
My wife says girl and I say boy. We have a bet going.
That's so fun. Either way, it's going to be a great week for you two.

> I'm counting down the days until my trip to Japan.
Only twelve more days until I leave for Japan!
Wow, is it your first time going?
Yes! I've wanted to go since I was a teenager.
You're going to love it. I went two years ago and the food alone was worth the trip.
That's what everyone says. I'm planning to eat my way through Osaka.

> My exam results are supposed to come out on Monday.
My exam grades are being posted on Monday and I can't think of anything else.
Waiting is the worst. Do you feel good about it?
Mostly. There was one essay question I'm not sure about.
I bet you did better than you think. Try to enjoy the weekend.

> My best friend is coming to visit after three years.
My best friend is flying in on Saturday and I haven't seen her in three years.
That's wonderful! What do you have planned?
A big dinner, a hike, and probably staying up way too late talking.

> I'm waiting for the season finale of my show.
The season finale of my favorite show airs on Sunday.
Oh, which show?
A detective series. They left us on a huge cliffhanger last week.
Those are the worst. Sunday can't come soon enough then!

> I'm expecting a package I ordered from overseas.
The tracking says my package from Korea arrives tomorrow.
Ooh, what did you order?
A keyboard I've been saving up for since the spring.
That's a long wait. I hope it arrives in perfect shape.

== anxious
> I have to give a presentation to the whole company tomorrow.
Tomorrow I'm presenting our quarterly results to the entire company.
That's a lot of pressure. How are you feeling?
My stomach is in knots. I've practiced it ten times and still feel unprepared.
Ten times is plenty. I used to get like that and it always went better than I feared.

> My mom is having heart surgery and I'm in the waiting room.
My mom is in surgery right now and I'm just sitting in the waiting room.
I'm so sorry. Is it a serious operation?
It's her heart, so yes. The doctors said it would take four hours.
Sending you strength. Is anyone there with you?
My aunt is on her way. That helps a little.

> My first day at a new school is on Monday.
I'm starting at a new high school on Monday and I don't know anyone.
That's a big change. What worries you most?
Lunch. I have no idea where I'm going to sit.
That's a really normal fear. Maybe look for a club to join the first week, it makes finding people easier.

> I can't stop worrying about money since my hours got cut.
My hours at work got cut in half and rent is due in two weeks.
That's so stressful. Do you have any savings to fall back on?
A little, but not enough for more than a month.
It might be worth talking to your landlord early. Some are more flexible than you'd expect.

> I have my driving test this afternoon.
My driving test is at three and my hands are already sweating.
You've got this! Have you practiced parallel parking?
That's the part I'm most nervous about. I failed it last time.
Just take it slow. The examiner cares more about safety than speed.

> I sent an important email to my boss with a typo in it.
I just noticed I sent my boss an email with her name spelled wrong.
Oh no! Has she responded yet?
Not yet, and I keep refreshing my inbox.
Honestly, she probably won't even notice. Everyone makes typos.

> I'm nervous about meeting my girlfriend's parents.
This weekend I'm meeting my girlfriend's parents for the first time.
That can be nerve-wracking. Do you know much about them?
Only that her dad is very serious and loves fishing.
Ask him about fishing then! People love talking about their hobbies.

> I have to wait days for a doctor to check a lump.
I found a small lump on my neck and my appointment isn't until Thursday.
That must be really worrying. Have you told anyone?
Just my husband. I don't want to scare my kids.

== apprehensive
> I'm not sure about moving across the country for my new job.
I accepted a job in Seattle, but now I'm second-guessing the move.
That's a big decision. What's making you hesitate?
I won't know anyone there, and my family is all here.
That's a real concern. Maybe the new job will help you build a circle quickly.

> I'm hesitant to go back to the dentist after a bad experience.
I need a filling, but I haven't been to a dentist since one hurt me badly years ago.
That's completely understandable. Are you going to a new dentist?
Yes, my friend recommended one who's supposed to be very gentle.
That's a good start. You can also tell them upfront that you're nervous.

> My friend wants me to go skydiving with her.
My best friend booked us a skydiving trip for her birthday.
Wow! Are you excited or nervous?
Mostly nervous. I don't even like tall ladders.
It's okay to tell her you'd rather watch. A good friend will understand.

> I'm unsure about lending my car to my cousin.
My cousin asked to borrow my car for a week and I don't know what to say.
Has he borrowed things from you before?
Yes, and last time he returned my bike with a flat tire.
Then I'd be hesitant too. Maybe offer to drive him instead.

> I start a new medication next week and I'm worried about side effects.
My doctor put me on a new medication and the list of side effects is really long.
That list always looks scary. Did the doctor say which ones are common?
She said most people only get mild headaches at first.
That's reassuring. Keep track of how you feel and call her if anything seems off.

> I agreed to host Thanksgiving for the first time.
I volunteered to host Thanksgiving this year and I've never cooked a turkey.
That's brave! How many people are coming?
Fourteen. What was I thinking?
You'll be fine. Lots of people order the turkey and just do the sides themselves.
That's actually a great idea. Thank you!
Good luck, I'm sure it'll be a hit.

> I have to talk to my roommate about the rent.
My roommate is two months behind on rent and I have to bring it up tonight.
That's such an uncomfortable conversation. How do you think she'll react?
I'm worried she'll get defensive and it'll make living together awkward.
That's fair. Keeping it calm and focusing on a plan might help.

> I'm thinking about signing up for a marathon.
I'm thinking about signing up for my first marathon, but I'm not sure I can do it.
How much running do you do now?
About ten miles a week. The marathon is in six months.

== ashamed
> I yelled at my kids after a long day at work.
I snapped at my kids last night over something tiny because I was exhausted.
We all have days like that. Did you talk to them afterwards?
I apologized at bedtime, but I still feel terrible about it.
Apologizing shows them how to handle mistakes. That's a good lesson too.

> I lied to my best friend about why I missed her party.
I told my best friend I was sick so I could skip her party, and she found out.
Oh no. How did she find out?
She saw me in someone's photo at a different event that night.
That's rough. Being honest with her now is probably the only way to fix it.

> I forgot my grandmother's birthday.
I completely forgot my grandmother's eightieth birthday yesterday.
Oh, I'm sorry. Have you called her?
I called this morning. She said it was fine, but I could hear she was hurt.
Maybe plan a visit with a small gift. I'm sure she'd love that.

> I failed a class I told my parents I was passing.
I told my parents I was doing fine in chemistry, but I failed the class.
That must be a heavy thing to carry. Are you going to tell them?
I have to. They'll see it on my transcript anyway.
It'll be hard, but they'll probably appreciate hearing it from you first.
I hope so. I'm going to tell them this weekend.

> I got caught cheating on a quiz in high school.
In high school I got caught copying someone's answers on a quiz.
That happens to a lot of people. What happened after?
I got a zero and had to call my dad from the principal's office.
That sounds mortifying. I think most of us have something like that from our teenage years.

> I was rude to a waiter when I was in a bad mood.
I was really short with our waiter yesterday just because I'd had a bad day.
It happens. Did you get a chance to make it up to him?
I left a big tip and apologized, but I keep thinking about it.

> I drank too much and embarrassed myself at the company party.
I had way too much to drink at the holiday party and danced on a table.
Oh no! Did anyone record it?
Thankfully no, but everyone at work has been giving me looks all week.
People forget faster than you think. Give it a couple of weeks.

> I didn't stand up for a classmate who was being bullied.
Back in middle school I watched a kid get picked on every day and never said anything.
That's a hard memory to carry. Do you ever think about reaching out to him?
I found him online last year and apologized. He was really kind about it.
That took courage. I think that says a lot about who you are now.

== caring
> My neighbor broke her leg so I've been walking her dog.
My elderly neighbor broke her leg, so I've been walking her dog twice a day.
That's so kind of you. How is she doing?
She's in good spirits. The dog is starting to like me more than her though!
Ha! That's sweet. She's lucky to have a neighbor like you.

> I stayed up all night with my sick son.
My son had a fever all night, so I sat with him and read stories until he fell asleep.
Poor little guy. Is he feeling better?
Much better this morning. He even asked for pancakes.
Pancakes are a great sign! I hope you got some rest too.

> I cooked meals for my friend who just had surgery.
My friend just got home from knee surgery, so I brought her a week's worth of meals.
That's so thoughtful. What did you make?
Lasagna, soup, and a lot of cookies.
She must have been so grateful. Food really is the best way to show love.

> I've been taking care of a stray cat that showed up on my porch.
A skinny stray cat showed up on my porch, so I've been feeding her every day.
Aww, that's lovely. Are you going to keep her?
I think so. I took her to the vet and she's healthy, just hungry.

> My husband had a rough week so I planned a surprise for him.
My husband had a terrible week at work, so I set up a movie night with all his favorite snacks.
That's so sweet! Did he like it?
He almost cried. He said it was exactly what he needed.
Little things like that mean so much. You two sound like a great team.

> I helped an older man carry his groceries home.
I saw an older man struggling with heavy grocery bags, so I carried them home for him.
That was really kind. Did he live far?
Just a few blocks. He told me all about his late wife on the way.
I bet that conversation meant a lot to him. Sometimes people just need someone to listen.

> I watched my friend's kids so she could have a night off.
My friend is a single mom, so I babysat her twins so she could go out for once.
That's really generous. How did it go with two kids?
Chaotic, but fun. We built a blanket fort and ate popcorn.
That sounds like the best night for them. I'm sure your friend appreciated it.

> I call my grandfather every day since he lives alone.
I call my grandfather every evening since he started living alone.
That's wonderful. Does he enjoy the calls?
He says he doesn't need them, but he always picks up on the first ring.
Ha! That says it all. He's lucky to have you.

== confident
> I studied hard and I know I'll pass my final exam.
I studied every day for three weeks, so I feel great about my final tomorrow.
That's the best feeling. What subject is it?
Statistics. It used to be my worst class.
Wow, that's a turnaround. You've earned that confidence.

> I'm sure I'll get the promotion this year.
I'm pretty sure I'm getting promoted this year.
That's great! What makes you so sure?
I led two big projects and my boss keeps hinting about it.
Sounds like it's well deserved. Let us know when it's official!

> I feel ready for my piano recital.
My piano recital is Saturday and for once I'm not nervous at all.
That's awesome. What are you playing?
A Chopin nocturne. I've played it so many times I could do it in my sleep.

> I know my team is going to win the championship.
Our soccer team hasn't lost a game all season, so I know we're taking the championship.
That's an impressive record! What position do you play?
I'm the goalkeeper. Only three goals against us all year.
That's incredible. Good luck in the final, not that you need it!

> I finally feel good about my cooking.
I'm hosting a dinner party this weekend and I'm confident I can pull it off.
Nice! What's on the menu?
Homemade pasta and a chocolate tart. I've practiced both a few times.
That sounds amazing. Practice really does make a difference.

> I believe I can finish my first novel by the end of the year.
I've written fifty thousand words so far and I'm sure I'll finish my novel by December.
That's impressive. What's it about?
A lighthouse keeper who finds a message in a bottle.
I love that idea. I'd read it!

> I'm confident in my new business plan.
I just finished my business plan for a bakery and I think it's solid.
Exciting! Have you shown it to anyone?
A friend who runs a cafe looked it over and said the numbers make sense.
That's a great sign. It sounds like you've done your homework.

> I know I nailed my audition.
I had an audition for the community theater today and I know I nailed it.
That's great! What role were you going for?
The lead in a comedy. The director laughed at every line.
That's a really good sign. I hope you get the call soon!

== content
> I spent a quiet Sunday reading in the park.
I spent all of Sunday reading under a tree in the park.
That sounds so peaceful. What were you reading?
An old mystery novel I found at a thrift store.
Perfect. Sometimes a simple day like that is all you need.

> I'm happy with my life right now.
I was sitting on my porch with coffee this morning and realized I'm really happy with where my life is.
That's a wonderful feeling. What do you think changed?
I stopped comparing myself to everyone online.
That's smart. It's easy to forget how much that affects us.

> I finally have a routine that works for me.
After months of chaos I finally have a morning routine I actually enjoy.
Nice! What does it look like?
A short walk, a good breakfast, and no phone until nine.

> We just moved into a small but cozy apartment.
We moved into a tiny apartment last month, but it feels more like home than anywhere we've lived.
That's lovely. What makes it feel that way?
Lots of sunlight and a little balcony where we eat dinner.
That sounds perfect. Space matters less than how it feels.

> I had a simple dinner with my family and everyone got along.
We had a simple spaghetti dinner tonight and nobody argued for once.
Ha, those nights are rare! Was it a special occasion?
Not at all. That's what made it so nice.
The ordinary nights are often the best ones.

> My garden is finally growing well.
My tomatoes are finally ripening and I just sat in the garden for an hour today.
There's nothing better than homegrown tomatoes. Is it your first garden?
Second. Last year everything died, so this feels great.
That's so satisfying. Enjoy every one of them.

> I'm happy with my job even though it doesn't pay much.
My job doesn't pay a lot, but I really love the people I work with.
That counts for a lot. What do you do?
I work at a small library. It's quiet and everyone is kind.
That sounds like a dream to me. Happiness at work is hard to find.

> I went for a long walk at sunset.
I took a long walk by the lake at sunset and just felt at peace.
That sounds beautiful. Do you walk there often?
Whenever I can. It clears my head better than anything else.

== devastated
> My dog of fourteen years passed away.
We had to put my dog down yesterday. He was fourteen and I'd had him since I was a kid.
I'm so sorry. Losing a pet is like losing a family member.
The house is so quiet. I keep expecting him to be at the door.
That's the hardest part. Take all the time you need to grieve him.

> I didn't get into any of the colleges I applied to.
I got my last rejection letter today. I didn't get into a single college.
Oh no, that's heartbreaking. How many did you apply to?
Six. I worked so hard for four years.
I'm so sorry. Community college could still get you to a great school later. A lot of people take that route.

> My fiance called off our wedding.
My fiance called off our wedding two months before the date.
I'm so sorry. Did he tell you why?
He said he just doesn't feel the same anymore. I had no idea.
That must feel like the ground disappeared under you. Do you have people around you?
My sister is staying with me this week.
I'm glad you're not alone. Be gentle with yourself.

> Our house flooded and we lost almost everything.
The river flooded last week and our whole first floor was ruined.
That's devastating. Is your family safe?
Everyone is okay, but all our photo albums were in the basement.
I'm so sorry. Losing those memories must hurt more than anything else.

> My best friend moved away without saying goodbye.
My best friend moved to another state and didn't even say goodbye.
That really hurts. Do you know why she didn't tell you?
She texted that it was too hard to say it in person.
I can see why you're crushed. Maybe in time you two can talk about it.

> My grandmother passed away last night.
My grandmother passed away last night. She raised me.
I'm so deeply sorry. She must have meant the world to you.

> I lost my job right after we bought a house.
Two weeks after we closed on our first house, I got laid off.
That's awful timing. How are you holding up?
Not well. I keep doing the math on the mortgage at night.
I'm sorry. I hope something comes through soon. Lean on your family while you figure it out.

> My team lost the championship in the last second.
We lost the state final on a shot at the buzzer. It was my senior year.
Oh man, that's brutal. I'm so sorry.
I can't stop replaying it. I was the one guarding him.
That's so hard, but one shot doesn't define your whole season.

== disappointed
> My favorite restaurant closed down.
I went to my favorite Thai place tonight and it had closed for good.
Oh no, that's such a letdown. Had you been going there long?
Almost ten years. It was where we went for every birthday.
That's sad. It's like losing a little piece of your history.

> My friends canceled our trip at the last minute.
My friends canceled our beach trip the night before we were supposed to leave.
That's so disappointing. Did they say why?
One of them had to work and the others didn't want to go without her.
I'm sorry. Could you still do a day trip on your own?

> I didn't get the part in the school play.
I auditioned for the lead in the school play and didn't even get a speaking role.
Aw, I'm sorry. You must have worked hard on that audition.
I practiced for weeks. I'm just in the chorus now.
The chorus can still be a lot of fun. And there's always next year.

> The concert I waited months for was canceled.
The concert I bought tickets for back in January just got canceled.
Ugh, that's such a bummer. Will they reschedule?
No date yet. They're only offering refunds.

> My son didn't call me on Mother's Day.
My son didn't call me on Mother's Day this year.
I'm sorry, that must have stung. Is he usually good about calling?
He used to be. He's been so busy since he started his new job.
Maybe let him know it hurt. He may not realize how much it meant to you.

> The new phone I ordered arrived broken.
I waited three weeks for my new phone and the screen was cracked when it arrived.
That's so frustrating. Are they sending a replacement?
Yes, but it'll take another two weeks.
What a letdown. At least you'll get a working one eventually.

> I got a lower grade than I expected on my essay.
I got a C on the essay I was so proud of.
Oh, that's disappointing. Did the teacher leave comments?
She said my argument wasn't clear enough.
That's useful to know at least. Maybe ask her to go over it with you.

> My brother missed my graduation.
My brother promised to come to my graduation, but he never showed up.
That's really hurtful. Did he explain?
He said his car broke down, but he didn't text until that night.
I can see why you're upset. A text would have been the least he could do.

== disgusted
> I found a hair in my salad at a restaurant.
I was halfway through my salad at lunch when I found a long hair in it.
Ew, that's so gross. Did you tell the waiter?
Yes, they took it off the bill, but I couldn't eat anything else.
I wouldn't have been able to either. That ruins your appetite for the day.

> My roommate left dirty dishes in the sink for a week.
My roommate left his dishes in the sink so long that there's mold growing on them.
That's disgusting. How do you live with that?
I don't. I'm making him clean it tonight or I'm throwing them out.
Good. Nobody should have to deal with that smell.

> Someone on the bus sneezed right on me.
A guy on the bus sneezed directly onto my arm and didn't even say sorry.
Gross! I'd want to take a shower immediately.
I scrubbed my arm for five minutes when I got home.

> Something went bad in the office fridge.
Someone left fish in the office fridge over the long weekend.
Oh no. I can almost smell it from here.
The whole kitchen reeked. People were gagging.
That's awful. Hopefully someone will finally start cleaning it out every Friday.

> I saw a man spit on the floor of a grocery store.
I watched a man spit right on the floor of the produce section today.
That's nasty. Did anyone say something?
An employee did, and he just shrugged and walked off.
Some people have no respect. I'm glad the employee called him out.

> I found a cockroach in my hotel room.
We checked into our hotel and there was a cockroach on the pillow.
Ugh! Did you ask for another room?
We switched hotels entirely. I couldn't stay there.
I don't blame you at all. I'd be checking my luggage for days.

> My coworker clips his nails at his desk.
My coworker clips his fingernails at his desk every Monday morning.
Ew, that's so unsanitary. Where do the clippings go?
Everywhere. I found one on my keyboard once.
That's revolting. I would talk to HR about that one.

> I watched a documentary about how fast food is made.
I watched a documentary about how some fast food burgers are made and I feel sick.
Oh no, I've seen those. Are you giving it up?
After what I saw, definitely. I'm cooking at home from now on.

== embarrassed
> I waved back at someone who was waving at the person behind me.
A woman waved at me across the street so I waved back, but she was waving at someone behind me.
Ha! That's happened to me too. Did she notice?
She did, and she gave me the most confused look.
I would have pretended to stretch my arm. Classic move.

> I tripped going up the stairs in front of my whole class.
I tripped on the stairs on the way to give my presentation in front of the whole class.
Oh no! Were you hurt?
Only my pride. Everyone laughed.
That's so awkward, but I bet no one remembers it now.

> I called my teacher mom by accident.
I accidentally called my teacher "mom" in front of everyone today.
Haha, everyone has done that at least once!
I'm thirty and she's my night class instructor.
Okay, that's a little more embarrassing, but it's still funny. I'm sure she took it well.
She laughed, so I guess it could have been worse.

> My stomach growled loudly during a quiet meeting.
My stomach growled so loudly during a silent moment in our meeting that everyone looked at me.
Ha! Did you skip breakfast?
Yep. My boss asked if I wanted half his sandwich.
That's actually really nice of him. At least everyone was good-natured about it.

> I sent a text about my friend to that same friend by mistake.
I sent a text complaining about my friend's cooking to her instead of my husband.
Oh no! What did she say?
She said "noted" and nothing else. I wanted to disappear.
Yikes. Maybe call her and laugh about it? Honesty might smooth it over.

> I had spinach in my teeth during a job interview.
I found out after my job interview that I had spinach in my teeth the whole time.
Oh no. Do you think they noticed?
The interviewer kept glancing at my mouth, so probably.

> I walked into the wrong bathroom at a restaurant.
I walked into the men's bathroom at a restaurant by accident tonight.
Haha, oops! Was anyone in there?
An older man who was very polite about it. I ran out so fast.
Honestly, the signs in some places are so confusing. It's an easy mistake.

> My phone rang loudly at a funeral.
My phone went off during a funeral and my ringtone is a cartoon theme song.
Oh no. That's a nightmare. What did you do?
I fumbled to silence it and apologized to the family afterward.
I'm sure they understood. These things happen to everyone.

== excited
> I'm going to see my favorite band live next week.
I just got tickets to see my favorite band next Friday!
No way! Which band?
The same one I've loved since middle school. I've wanted to see them for years.
That's awesome. Their live shows are supposed to be amazing.

> I got accepted into my dream graduate program.
I just got an email saying I've been accepted into my dream graduate program!
Congratulations! That's huge. What program?
Marine biology in California. I'll get to study whales!
That's so cool. You must be over the moon.

> We're adopting a puppy this weekend.
We pick up our new puppy on Saturday!
Yay! What kind of puppy?
A golden retriever mix. We're naming her Maple.
Maple is the perfect name. Enjoy all the puppy cuddles!

> I'm going to Disney World for the first time.
I'm finally going to Disney World next month and I'm thirty-two years old.
Ha, there's no age limit on fun! What are you most excited for?
The fireworks. I've seen videos of them a hundred times.

> My sister is having a baby and I'm going to be an aunt.
My sister just told me she's pregnant. I'm going to be an aunt!
Congratulations! Is this her first?
Yes! I've already started knitting a blanket.
That's adorable. That baby is going to be so loved.

> I'm opening my own business next month.
I'm officially opening my own coffee shop next month!
That's amazing! Where is it going to be?
Right downtown, next to the library.
Perfect spot. I'd stop by every morning if I lived there.
You'd get the first latte free!
Deal. Best of luck with the opening.

> I won tickets to a basketball game.
I won courtside tickets to a basketball game from a radio contest!
Courtside? That's incredible! Who are you taking?
My dad. He's been a fan since the eighties.
He's going to love that. What a great memory for both of you.

> My favorite author is releasing a new book.
My favorite author just announced a sequel to my favorite book, and it comes out in the spring!
Oh nice, I love that feeling. It gives you something to look forward to.

== faithful
> I've been with my husband for thirty years and never strayed.
My husband and I just celebrated thirty years and I've never once looked at anyone else.
That's beautiful. What's your secret?
We still go on a date every Friday, no matter what.
That's so sweet. It sounds like you two really put in the effort.

> I stayed loyal to my friend when everyone turned on her.
When rumors spread about my friend at school, I stood by her even when others didn't.
That takes a lot of strength. How is she doing now?
Much better. The rumors turned out to be false, and she says I'm the reason she got through it.
You were a true friend. She's lucky to have you.

> I've gone to the same church every Sunday for twenty years.
I haven't missed a Sunday at my church in twenty years.
Wow, that's real dedication. What keeps you going back?
The community. They were there for me when my mom passed.
That's wonderful. Having people like that is a real gift.

> I kept my promise to visit my grandfather every week.
I promised my grandfather I'd visit every week when he moved into a nursing home, and I've kept it for two years.
That's so devoted. He must look forward to it.
He waits by the window every Wednesday.

> My partner was away for a year for work and I stayed true.
My girlfriend spent a year working overseas and we made the long distance work.
That's not easy. How did you manage it?
Lots of video calls and a countdown calendar on the fridge.
That's so sweet. It sounds like you two are built to last.

> I've supported the same football team through every losing season.
My team has lost more games than they've won for ten years, but I've never stopped cheering for them.
Now that's a true fan. Do you ever get tempted to switch?
Never. My dad raised me on this team.
I respect that. When they finally win, it'll be extra sweet.

> I stayed with my company through hard times.
When our company nearly went under, I turned down other offers and stayed.
That's loyal. Did it work out?
We're doing better than ever now, and they made me a partner.
That's amazing. Your faith in them really paid off.

> I've kept in touch with my pen pal for twenty years.
I've been writing letters to the same pen pal in Ireland since we were ten.
That's incredible! Have you ever met in person?
Once, at her wedding. It felt like seeing an old sister.
What a special friendship. Hardly anyone writes letters anymore.

== furious
> Someone stole my bike from outside my apartment.
Someone cut the lock and stole my bike right outside my building.
That's infuriating! Did you report it?
I did, but the police said there's basically no chance of getting it back.
I'm sorry. I'd be livid. Maybe check local resale sites in case it shows up.

> My boss blamed me for his own mistake in front of the client.
My boss made a huge error on the client's order and then blamed me right in front of them.
That's unacceptable. What did you do?
I kept quiet in the meeting, but I was shaking with rage.
I would have been too. You should document everything in case it happens again.

> My ex posted private photos of me online.
My ex posted private photos of me online without asking.
That's horrible and probably illegal. Have you reported it?
Yes, to the website and the police. The site already took them down.
Good. I'm so sorry you're dealing with this. You did everything right.

> The contractor disappeared after taking our deposit.
We paid a contractor a five thousand dollar deposit to redo our kitchen and he vanished.
That's outrageous. Do you have a contract?
We do, so our lawyer is sending a letter this week.
I hope you get every cent back. People like that make me so angry.
Thanks. I'm trying to stay calm, but it's really hard.

> Someone hit my parked car and drove off.
I came out of work and my car's bumper was smashed, with no note.
That makes me so mad. Were there any witnesses?
A security guard saw it and got the license plate!
Yes! At least there's a chance they'll have to pay for it.

> My roommate threw a party while I was away and trashed the place.
I came back from vacation to find out my roommate threw a huge party and broke our table.
Are you serious? Did she even tell you?
No, the neighbors did. She acted like it was no big deal.

> My sister read my diary and told our parents everything.
My sister went through my diary and told our parents everything in it.
That's such a betrayal. How old are you two?
I'm sixteen and she's fourteen. I don't even want to look at her.
That's completely fair. Your privacy matters and she crossed a line.

> The bank charged me fees for their own mistake.
The bank double-charged my mortgage payment and then hit me with an overdraft fee for it.
That's ridiculous. Did they fix it?
After an hour on hold they said the fee would "take five to seven business days" to reverse.
Unbelievable. I'd be furious too. Keep pushing until they fix it.

== grateful
> My neighbor shoveled my driveway after the snowstorm.
I woke up after the blizzard and my neighbor had already shoveled my whole driveway.
That's so nice! Do you know why he did it?
He said he knew I'd been working late shifts at the hospital.
What a thoughtful guy. Neighbors like that are rare.

> My parents helped pay for my college.
I just realized how much my parents gave up to pay for my college.
That's a beautiful thing to realize. Have you told them?
I wrote them a letter last night. My mom called me crying.
That must have meant so much to them. You're lucky to have each other.

> A stranger returned my lost wallet with everything still inside.
I lost my wallet at the mall and a stranger mailed it back with every dollar inside.
Wow, that restores my faith in people! Did you get to thank them?
There was a return address, so I sent a thank-you card and a gift card.

> My coworkers covered my shifts while I was in the hospital.
I was in the hospital for a week and my coworkers covered all my shifts without being asked.
That's amazing. How are you feeling now?
Much better. I'm bringing everyone donuts on Monday.
Donuts are the perfect thank you. You've got a great team.

> My friend drove four hours to help me move.
My best friend drove four hours on his day off just to help me move apartments.
That's a real friend. Did you buy him dinner at least?
Dinner and a lot of pizza. I still feel like I owe him.
It sounds like you'd do the same for him. That's what matters.

> My teacher stayed after school to help me pass math.
My math teacher stayed after school with me three times a week until I passed.
She sounds like an amazing teacher. Did you pass?
With a B! I'm going to give her a thank-you note.
That's wonderful. Teachers really love hearing that kind of thing.

> I'm thankful for my health after a scare.
My biopsy came back benign today and I've never felt so thankful.
Oh, what a relief! How long were you waiting?
Two weeks. The longest two weeks of my life.
I'm so happy for you. Go celebrate tonight!

> My sister let me live with her when I lost my apartment.
When I lost my apartment, my sister let me live in her spare room for six months.
That's so generous. How was living together?
Better than I expected. We got closer than we've been since we were kids.
That's lovely. Sometimes a hard time brings good things with it.

== guilty
> I broke my mom's vase and blamed the cat.
I broke my mom's favorite vase when I was twelve and blamed the cat.
Haha, poor cat! Did she ever find out?
I finally told her last Christmas. She said she always knew.
Moms always know. At least the cat's name is cleared now.

> I ate my roommate's birthday cake.
I ate a slice of cake from the fridge and it turned out to be my roommate's birthday cake.
Oh no. Did you tell her?
Not yet. I'm trying to find the same bakery to replace it.
I'd just be honest. She'll probably think it's funny.

> I haven't called my grandmother in months.
I realized today that I haven't called my grandmother in almost three months.
It's easy to lose track of time. Are you going to call her?
Tonight. I feel terrible that it took me this long.
She'll just be happy to hear from you. Don't be too hard on yourself.

> I skipped work and said I was sick.
I called in sick to work yesterday, but I really just needed a day off.
We've all done it. Did you enjoy the day at least?
Kind of, but I spent half of it feeling guilty.

> I forgot to feed my neighbor's fish while they were away.
I promised to feed my neighbor's fish while they were away and I forgot for two days.
Oh no! Are the fish okay?
They're fine, thankfully. But I still feel awful.
Fish can go a few days without food, so no harm done. Maybe just tell them anyway.

> I said something mean to my brother before he left for the army.
The last thing I said to my brother before he left for basic training was something mean.
That's hard to live with. Have you been able to write to him?
I sent a letter last week apologizing.
I'm sure he'll be glad to get it. Siblings fight, and he probably knows you love him.

> I didn't visit my friend in the hospital.
My friend was in the hospital for two weeks and I never went to see him.
Why not, if you don't mind me asking?
I hate hospitals. But that's not a good excuse.
It's never too late to visit him at home. He'd probably appreciate it.
You're right. I'll bring him some games this weekend.

> I took the last cookie my son was saving.
I ate the last cookie my son was saving for after school.
Uh oh. Did he notice?
He looked in the jar and his face just fell. I felt like a monster.
Ha! Baking a new batch together could make up for it.

== hopeful
> I think this new treatment might finally help my back pain.
I started physical therapy for my back and for the first time in years I think it might actually help.
That's great to hear. How long have you been dealing with the pain?
Almost five years. Nothing else has worked.
I really hope this is the one. You deserve some relief.

> I applied for my dream job and I have a good feeling about it.
I applied for a job at a national park and I have a really good feeling about it.
That sounds like a dream job! What would you be doing?
Leading hiking tours and teaching kids about wildlife.
I'm crossing my fingers for you. That would be perfect.

> My brother has been sober for six months.
My brother just hit six months sober and I'm starting to believe he'll make it this time.
That's wonderful news. How is he doing?
He's working again and even calls our mom every Sunday.
That's a huge change. I'm hoping the best for both of you.

> We're hoping to have a baby this year.
We've been trying for a baby for two years and our doctor says the new plan looks promising.
I'm glad there's some good news. How are you feeling about it?
Nervous, but hopeful for the first time in a while.

> I think my grades will improve this semester.
I joined a study group this semester and my grades are already going up.
That's great! What made the difference?
Having people to explain things when I'm stuck.
That makes total sense. Keep it up and you'll have a great semester.

> We put an offer on a house we love.
We just put an offer on a little blue house we fell in love with.
Oh, fingers crossed! When will you hear back?
By tomorrow night. I keep imagining our furniture in it.
I hope it's yours! That sounds like a great sign.

> My dad's surgery went well and the doctors are optimistic.
My dad came out of surgery and the doctor said it went better than expected.
That's such a relief. How long will he be in the hospital?
About a week, then rehab. But they think he'll be walking by summer.
That's wonderful. I hope his recovery goes smoothly.

> I'm hoping my lost cat comes home.
My cat slipped out three days ago, but someone said they saw her two streets over.
Oh, that's a good sign! Have you put out flyers?
Everywhere. I also left her blanket on the porch.
That's smart, they can follow the smell. I really hope she comes home soon.

== impressed
> My nephew solved a Rubik's cube in under a minute.
My eight-year-old nephew solved a Rubik's cube in under a minute today.
Wow, that's amazing for his age! How did he learn?
He watched videos online for a month.
Kids are incredible. I still can't finish one side.

> My coworker ran a marathon a year after she started running.
My coworker just finished a marathon and she only started running a year ago.
That's seriously impressive. What was her time?
Just under four hours.
That's fantastic for a first marathon. She must be really disciplined.

> I saw a street artist paint a whole mural in a day.
I watched a street artist paint a huge mural on a building in just one afternoon.
That sounds incredible. What did he paint?
A giant whale swimming through the city skyline.

> My daughter taught herself to play guitar.
My daughter taught herself guitar over the summer and played a whole song for us tonight.
That's wonderful! What song did she play?
An old folk song my dad used to sing. I didn't even know she knew it.
That's so cool. You must be really proud of her too.

> My friend built his own cabin.
My friend built his own cabin in the woods with his own two hands.
Whoa, that's a huge project. How long did it take him?
Three summers. It even has solar power.
That's really impressive. I can barely put together furniture.

> The new chef at our local diner is amazing.
The new chef at our local diner made the best meal I've had in years.
That's awesome! It's rare to find food that good at a diner.

> My grandfather learned to text at ninety.
My ninety-year-old grandfather just sent me his first text message.
That's adorable and impressive! What did it say?
"HELLO THIS IS GRANDPA" in all caps.
I love that. It's never too late to learn something new.

> A student in my class won a national science award.
A girl in my chemistry class just won a national science award for her water filter design.
Wow, that's incredible. What does it do?
It cleans water using only sand and charcoal, for almost no cost.
That could help so many people. She's going places.

== jealous
> My best friend got the job I wanted.
My best friend got the job we both applied for and I can't shake being jealous.
That's a tough spot. Have you told her how you feel?
No, I congratulated her, but it stung.
That's totally human. You can be happy for her and disappointed at the same time.

> My coworker always gets praise from the boss.
My boss praises my coworker in every meeting and barely notices my work.
That's frustrating. Do you think he sees what you do?
I don't think so. Maybe I need to speak up more.
It might help. Sometimes the quiet workers get overlooked.

> My sister is going on a trip to Europe.
My sister just booked a month-long trip to Europe and I'm stuck here working.
Ugh, I'd be jealous too. Where is she going?
Italy, France and Greece. She'll be posting pictures every day.
Maybe mute her for a month, ha. Then plan your own trip!

> My friend's new car is much nicer than mine.
My friend pulled up in a brand new car today and I felt a pang of jealousy.
I think everyone feels that sometimes. What kind of car?
A shiny electric one. Mine is fifteen years old.

> My girlfriend keeps talking about her ex.
My girlfriend keeps bringing up her ex and how funny he was.
That would get to me too. Have you told her it bothers you?
Not yet. I don't want to seem insecure.
It's not insecure to share your feelings. She may not realize how often she does it.

> My neighbor's garden always looks better than mine.
No matter what I do, my neighbor's garden looks better than mine.
Ha, garden envy is real! What's her secret?
She says "just compost and patience", but I think it's magic.
Maybe ask her for some tips. Gardeners love sharing.

> My brother got a bigger birthday present than me.
My parents bought my little brother a video game console for his birthday and I got socks for mine.
Haha, that's rough. How old are you?
Seventeen. I know it's silly, but it still bugs me.
It's not silly. It's normal to notice stuff like that.

> My friend is naturally good at everything.
My friend picks up every new hobby in a week, and I struggle for months.
That can be so frustrating. What hobby this time?
Painting. Her first canvas looks like it belongs in a gallery.
Everyone learns at their own pace. Your progress still counts.

== joyful
> My son took his first steps today.
My son took his first steps today, right into my arms!
Oh, that's so precious! Did you get it on video?
My husband did. We've watched it about fifty times.
That's a moment you'll treasure forever. Congratulations!

> I got engaged last night.
My boyfriend proposed last night on the beach where we met!
Congratulations! That's so romantic. Did you have any idea?
None at all. I cried so hard I could barely say yes.
That's beautiful. I'm so happy for you both.

> I finished paying off my student loans.
I made my very last student loan payment this morning!
Woo! That's a huge achievement. How long did it take?
Eight years. I danced around my kitchen.
You deserve that dance. Time to celebrate!

> All my family was together for the holidays.
For the first time in ten years my whole family was together for the holidays.
That's wonderful! How many of you were there?
Twenty-three people in my grandma's little house.

> My dog came home after being missing for a week.
Our dog went missing a week ago and he just showed up at our back door!
Oh my gosh, that's amazing! Is he okay?
A little dirty and very hungry, but totally fine.
I'm so happy for you. He must have been so glad to be home.

> I won first place in the baking contest.
My apple pie won first place at the county fair!
Congratulations! Is it a family recipe?
It's my great-grandmother's recipe. She would have been so proud.
That makes it even more special. What a wonderful way to honor her.

> My best friend surprised me for my birthday.
My best friend flew across the country to surprise me for my birthday.
That's amazing! How did she pull it off?
My husband helped her plan it. I screamed when I opened the door.
That's the best kind of surprise. What a great friend.
I know. I'm still smiling.

> We brought our newborn daughter home.
We brought our baby girl home from the hospital today.
Congratulations! How are you all feeling?
Exhausted, but so happy. She's perfect.
Enjoy every minute. They grow up so fast.

== lonely
> I moved to a new city and don't know anyone.
I moved to Denver for work two months ago and I still don't know anyone.
That's really hard. Have you found any ways to meet people?
Not really. I work from home, so I barely leave the apartment.
Maybe try a climbing gym or a running club. I met most of my friends that way after moving.

> My kids all moved out and the house feels empty.
My youngest left for college last week and the house feels so empty.
That's a big change. How are you filling your time?
I'm not. I keep walking past their rooms.
That sounds really lonely. Maybe it's a good time to pick up something just for you.

> I spent my birthday alone this year.
Nobody remembered my birthday this year, so I just ate cake by myself.
I'm so sorry. That must have felt awful.
It did. I guess I haven't kept in touch with people.

> My husband works overseas for months at a time.
My husband is working overseas again for four months and the evenings are so quiet.
That sounds hard. Do you two get to talk often?
Every morning, but the time difference makes it tough.
I'm sorry. Having friends over for dinner once a week might help the nights feel shorter.

> Everyone in my dorm goes home on weekends except me.
Everyone in my dorm goes home on the weekends, but my family lives too far away.
That must be really isolating. What do you usually do?
Mostly watch movies alone and call my mom.

> I don't have anyone to talk to since my best friend moved.
Since my best friend moved away, I don't really have anyone to talk to.
That's so hard. Do you still keep in touch?
We text, but it's not the same as hanging out.
I understand. Maybe you two could start a weekly video call to keep the friendship going.

> I'm the only one in my family who lives abroad.
I'm the only one of my family living abroad, and holidays here are really lonely.
That must be hard, especially around the holidays. Where are you living?
In Germany. Everyone back home is in Brazil.
That's a long way. Are there other people from Brazil near you?

> I eat lunch alone every day at my new job.
I've been at my new job for a month and I still eat lunch alone every day.
That's tough. Have you tried inviting someone to join you?
I'm too shy. Everyone already has their group.
I know how that feels. Sometimes just asking one person can open the door.

== nostalgic
> I found my old childhood toys in my parents' attic.
I found a box of my old action figures in my parents' attic today.
Oh, that must have brought back memories! Which ones?
Dinosaurs and space rangers. I spent hours playing with them.
I love that. It's funny how a toy can take you right back.

> I heard a song from my high school days on the radio.
A song from my senior year came on the radio and I had to pull over.
Ha, those songs hit hard. What was it?
The song we danced to at prom. I was back in that gym for three minutes.

> I drove past my old elementary school.
I drove past my old elementary school today. It looks so small now.
It's crazy how that happens. Did you stop?
I sat in the parking lot for a while remembering recess and my first crush.
That sounds lovely. Those were simpler days.

> The smell of cinnamon reminds me of my grandmother's kitchen.
Whenever I smell cinnamon, I'm right back in my grandmother's kitchen.
That's so sweet. Did she bake a lot?
Every Sunday. Cinnamon rolls, apple cake, you name it.
What a nice memory. Have you ever tried making her recipes?

> I looked through old photos from college.
I spent the whole evening looking through photos from my college years.
That sounds fun. Do you still talk to those friends?
Some of them. I think I'm going to plan a reunion.
That's a great idea. It would be fun to make new memories together.

> I watched a cartoon I loved as a kid.
I watched an episode of the cartoon I loved when I was seven.
Oh, does it hold up?
Not really, but I still laughed at all the same parts.
Ha, that's all that matters.

> I visited the lake where we spent summers as kids.
I visited the lake where my family spent every summer when I was a kid.
That must have been emotional. Has it changed much?
The dock is new, but the old rope swing is still there.
Did you take a swing for old times' sake?
Of course I did. The water was just as cold as I remembered.
Ha, I love that. Some things never change.

> I found an old letter from my first love.
I found a letter from my first boyfriend tucked in an old book.
Aww. What did it say?
Silly teenage stuff about running away to Paris together.
That's so sweet. It's nice to remember how big everything felt back then.

== prepared
> I packed an emergency kit before hurricane season.
I finished putting together our hurricane kit with water, batteries and food for a week.
That's smart. Do you live close to the coast?
Only a few miles. We learned our lesson from the last storm.
Good for you. I should probably do the same thing.

> I studied every night for my certification exam.
My certification exam is tomorrow and I've studied every night for two months.
You must feel ready. What's the certification for?
Project management. I've done hundreds of practice questions.
Then you're definitely prepared. Get a good night's sleep!

> I practiced my speech for my sister's wedding many times.
I've practiced my maid of honor speech so many times my dog could give it.
Ha! Are you nervous at all?
Not really. I've got it memorized and I know where the jokes land.

> I saved enough money before quitting my job.
I saved a year's worth of expenses before quitting my job to go back to school.
That's really responsible. What are you studying?
Nursing. I wanted to be ready so I can focus on classes.
That's a great plan. You've set yourself up well.

> We baby-proofed the whole house before our son started crawling.
We baby-proofed every inch of the house before our son started crawling.
Nice! Did you miss anything?
He found the one cabinet without a lock within a day.
Ha! Babies always find the one spot. Still, you were way ahead of the game.

> I prepared all my meals for the week on Sunday.
I spent Sunday cooking all my lunches for the week.
That's so organized. What did you make?
Chicken, rice and roasted vegetables. Boring but healthy.
Boring but healthy works! It saves so much time during the week.

> I checked all the gear before our camping trip.
I checked every piece of gear twice before our camping trip this weekend.
Good call. Have you had gear fail before?
Our tent pole snapped in the rain last year, so I bought spares.
That's smart. Sounds like you're ready for anything.

> I planned my first week as a teacher.
Tomorrow is my first day as a teacher and my lesson plans are done for the whole week.
Wow, a whole week? You're really ahead.
I want to spend my evenings learning the kids' names instead.
That's a great approach. Your students are lucky.

== proud
> My daughter graduated from college, the first in our family.
My daughter just graduated from college. She's the first in our family to do it.
That's incredible! You must be bursting with pride.
I cried through the whole ceremony.
That's a wonderful milestone for your whole family. Congratulations!

> I ran my first 5k without stopping.
I ran a whole 5k today without stopping once.
Way to go! How long have you been training?
Three months. A year ago I couldn't run for a minute.
That's a huge improvement. You should be proud of yourself.

> My son stood up for a kid who was being bullied.
My son's teacher called to tell me he stood up for a kid who was being bullied.
That's wonderful. You've raised a good kid.
I told him I was proud and he just shrugged and said "it was the right thing".

> I built a bookshelf by myself.
I built a bookshelf from scratch this weekend, and it doesn't even wobble.
Nice work! Have you done woodworking before?
Never. I watched a lot of videos.
That's really impressive for a first project. What's next?
Maybe a coffee table, if I'm brave enough.
Go for it! You clearly have a knack for it.

> I got promoted to manager.
I got promoted to manager today after five years at the company.
Congratulations! That's a big step.
Thanks! I started there answering phones.
That makes it even better. You worked your way up.

> My students all passed their final exam.
Every single student in my class passed the state exam this year.
Wow, that's amazing! Is that unusual?
Last year only half passed. We worked really hard together.
You must be such a dedicated teacher. That's something to be proud of.

> I quit smoking after twenty years.
Today marks one year since I quit smoking, after twenty years of a pack a day.
That's amazing! How do you feel?
I can walk up stairs without getting winded. I feel great.
That's a huge accomplishment. Congratulations!

> My little brother got his first job.
My little brother got his first job today and called me before anyone else.
Aw, that's sweet. Where is he working?
At a bike shop. He's been obsessed with bikes since he was five.
That's perfect for him. You must be proud of him.

== sad
> My best friend and I stopped talking.
My best friend and I had a falling out and we haven't spoken in months.
That's really sad. Do you know what went wrong?
We just drifted apart and then argued about something dumb.
I'm sorry. Reaching out first is hard, but it can mean a lot.

> I had to give my cat away because of my allergies.
I had to give my cat to my aunt because my allergies got so bad.
Oh, that's heartbreaking. At least she's with family.
I know. I can visit, but it's not the same.

> My favorite teacher retired.
My favorite teacher retired today and the school won't feel the same.
That's sad. What made her so special?
She was the only one who believed I could go to college.
Teachers like that are rare. Maybe write her a letter telling her that.

> It rained all day on my birthday.
It poured all day on my birthday, so my picnic plans were ruined.
Aw, that's such a shame. Did you do something else instead?
We just stayed inside and watched movies.
That still sounds kind of cozy. I'm sorry the day didn't go as planned though.

> My grandfather doesn't recognize me anymore.
My grandfather has dementia and today he didn't recognize me at all.
I'm so sorry. That must be so painful.
He thought I was my dad. I just went along with it.
That was kind of you. It sounds like you're handling something really hard with a lot of love.

> I found out my childhood home was torn down.
I drove by the house I grew up in and it's been torn down.
Oh no, that's sad. What's there now?
An empty lot with a for sale sign.
It's strange how much a place can hold. I'm sorry.

> My son is moving far away for work.
My son just accepted a job on the other side of the country.
That's bittersweet. Are you happy for him?
I am, but I'm going to miss him so much.

> The old oak tree in our yard had to be cut down.
We had to cut down the huge oak in our backyard because it was sick.
That's sad. Had it been there a long time?
Over a hundred years. My kids had a swing on it.
I'm sorry. Maybe you could plant a new one in the same spot.

== sentimental
> I kept my daughter's first pair of shoes.
I was cleaning the closet and found my daughter's first pair of shoes.
Aww! How old is she now?
Twenty-five. I can't believe her feet were ever that small.
That's so sweet. Those little things are the best keepsakes.

> I still have the letters my husband wrote me from the army.
I reread the letters my husband sent me when he was in the army forty years ago.
That's so touching. Do you read them often?
Every anniversary. They still make me cry.

> I wore my grandmother's ring on my wedding day.
I wore my grandmother's ring on my wedding day. It felt like she was there with me.
That's beautiful. Were you close with her?
Very. She taught me how to sew and bake.
What a lovely way to honor her.

> My son gave me a drawing he made in kindergarten.
My son found a drawing he made me in kindergarten and gave it to me again for Mother's Day.
That's adorable! What's in the drawing?
Our family as stick people, and the dog is bigger than the house.
Ha! That's a keeper. I'd frame it.

> I saved the ticket stubs from my first date with my wife.
I still have the movie ticket stubs from my first date with my wife.
That's so sweet. What movie did you see?
A terrible horror movie. She held my hand the whole time.
Sounds like the movie did its job, ha!

> I keep my father's old watch in my desk drawer.
My father's old watch sits in my desk drawer and I wind it every morning.
That's a touching ritual. When did he give it to you?
He left it to me when he passed. It's kept perfect time for fifty years.
What a meaningful way to keep him close.

> We rewatched our wedding video on our anniversary.
We watched our wedding video on our tenth anniversary tonight.
How sweet! Did it bring back a lot of memories?
So many. My dad's speech still makes me cry.
That's a beautiful tradition. Happy anniversary!

> I have a blanket my mother knitted for me when I was born.
I still sleep with the blanket my mom knitted for me when I was born.
That's really special. Is it still in good shape?
It's a little worn, but I wouldn't trade it for anything.
I understand. Some things just hold too much love to give up.

== surprised
> My friends threw me a surprise party.
I walked into my apartment and all my friends jumped out and yelled surprise!
Ha, how fun! Did you have any clue?
Not at all. I thought everyone forgot my birthday.
That's the best feeling. Sounds like you have great friends.

> I found money in an old coat pocket.
I found a hundred dollar bill in the pocket of a coat I haven't worn in years.
Lucky! What are you going to do with it?
Dinner at the fancy steak place down the street.

> My quiet coworker turned out to be a professional singer.
I found out my quiet coworker sings in a jazz band on weekends.
No way! Have you heard her sing?
I went to her show last night. She was amazing.
That's so cool. You never know what people do outside work.

> I ran into my high school teacher on vacation in Spain.
I ran into my old high school English teacher on a beach in Spain, of all places!

> My dad showed up at my college unannounced.
My dad showed up at my dorm today without telling me he was coming.
Wow! Was everything okay?
Yes, he was just driving through and wanted to take me to lunch.
That's such a nice surprise. Dads can be sweet like that.

> I got a letter from a friend I haven't heard from in years.
I got a handwritten letter from my childhood best friend after fifteen years.
That's amazing. How did she find your address?
My mom gave it to her. She's moving back to town!
What a surprise! You two will have so much to catch up on.

> My husband cleaned the whole house without being asked.
I came home and my husband had cleaned the entire house on his own.
Ha! Was it a special occasion?
I asked him that and he said "I just felt like it". I'm still in shock.
Enjoy it! That's a rare treat.

> I won a raffle I forgot I entered.
I got a call saying I won a weekend cabin trip in a raffle I forgot I'd entered.
That's awesome! Where's the cabin?
Up in the mountains. There's even a hot tub.
What a great surprise. Enjoy the getaway!

== terrified
> I was in a car accident on the highway.
A truck swerved into my lane on the highway and sent my car spinning.
Oh my god. Are you hurt?
Just bruises, but I can't stop shaking when I think about it.
That's completely normal after something like that. Please go easy on yourself for a while.

> I got stuck in an elevator for an hour.
I was stuck in an elevator between floors for over an hour today.
That sounds terrifying. Were you alone?
Yes, and the emergency phone didn't work at first.
I would have panicked. I'm glad you got out okay.

> I saw a bear while hiking alone.
I came around a bend on the trail and there was a black bear about twenty feet away.
Oh wow. What did you do?
I backed away slowly and talked loudly like the signs say. My legs were jelly.
You handled that perfectly. That would have scared me to death.

> My house caught on fire in the middle of the night.
Our smoke alarm went off at three in the morning and the kitchen was on fire.
That's horrifying. Did everyone get out?
Yes, all of us and the dog. The firefighters saved most of the house.
Thank goodness. I'm so glad you had working smoke alarms.

> My son had an allergic reaction and couldn't breathe.
My son had an allergic reaction at dinner and his throat started closing.
That's so scary. Is he okay?
We used his EpiPen and rushed him to the ER. He's fine now.
You reacted so fast. That must have been the longest drive of your life.
It was. I'm not letting that EpiPen out of my sight again.

> I went to a haunted house and was scared out of my mind.
My friends dragged me to a haunted house and I screamed the entire time.
Ha! Was it really that scary?
A guy with a chainsaw chased us out the exit. I nearly cried.

> I woke up to someone trying to open my front door.
I woke up at two in the morning to someone jiggling my front door handle.
That's terrifying. What did you do?
I called the police and hid in the bathroom. It was a drunk man at the wrong house.
Even knowing that, I'd still have trouble sleeping. I'm glad you're safe.

> Our plane had to make an emergency landing.
Our plane had to make an emergency landing after one of the engines failed.
Oh my gosh. That must have been horrifying.
Everyone was praying. I held a stranger's hand the whole way down.
I'm so glad you all made it. That's something you'll never forget.

== trusting
> I gave my neighbor a key to my house.
I gave my new neighbor a spare key to my house while I'm traveling.
That's a lot of trust. Do you know her well?
Only a few months, but she's been so kind. I have a good feeling about her.
It's nice to have someone like that next door.

> I let my teenage son drive my car alone for the first time.
I let my sixteen-year-old drive my car alone for the first time today.
Oh wow, that's a big step. Were you nervous?
A little, but he's been so responsible lately.
It sounds like he earned it. I'm sure he appreciated that you trusted him.

> I told my best friend my biggest secret.
I finally told my best friend something I've never told anyone.
That takes a lot of trust. How did she react?
She just hugged me and said it didn't change anything.

> I let a stranger watch my bag at the airport.
I had to run to the bathroom at the airport, so I asked the lady next to me to watch my bag.
Risky! Was it still there when you got back?
Yes, and she'd even saved my seat.
Ha, good for you. Most people are decent if you give them a chance.

> I let my friend plan our whole vacation.
I let my best friend plan our entire vacation without telling me where we're going.
That's brave! Do you have any hints?
Just that I should pack a swimsuit.
That sounds like a fun adventure. I hope it's somewhere tropical!

> We hired a babysitter for the first time.
We left our baby with a babysitter for the first time last night.
That's a big moment. How did it go?
She sent us photos every hour and the baby slept great.
That's the perfect babysitter. It's so important to find someone you can trust.

> I lent my brother money to start his business.
I lent my brother most of my savings to start his food truck.
That's really generous. Are you worried about getting it back?
Not really. He's never let me down before.
That's great. I hope the food truck is a big success.

> I trusted my doctor's advice even though it was scary.
My doctor suggested surgery and even though I was scared, I trusted her.
That takes courage. How did it go?
Really well. I'm already back to walking my dog.
I'm so glad. It sounds like you found a great doctor.
"""

# EPITOME pairs. In each response, [ER1:...], [IP2:...], [EX2:...] etc. mark the span that carries that
# mechanism at that level; the marks are removed from the text, the spans become the rationales, and the
# level of a mechanism is the highest level marked for it (0 when none). "S: =N" reuses the seeker post of
# pair N (a second response to the same post, as happens in the release).
EPITOME_SOURCE = r"""
S: I can't get out of bed anymore. Everything feels pointless and I don't even know why I'm trying.
R: [ER1:Sending hugs.] [IP2:I had months like that last winter where even showering felt impossible.] Start tiny, like sitting up and drinking a glass of water.

S: My girlfriend left me after 4 years and I don't know who I am without her. We did everything together.
R: [IP2:I went through almost the exact same thing at 24 and felt like I lost half of myself.] It took time, but I found parts of me I'd forgotten about.

S: Failed my exam again. Third time. I'm starting to think I'm just stupid.
R: You're not stupid. Failing a test says nothing about your intelligence, it says something about the method. Try changing how you study.

S: Nobody texted me on my birthday. Not even my family. I just sat in my room all day.
R: [ER2:That breaks my heart, I'm so sorry.] [EX2:Is your family usually like that, or is something going on between you?]

S: I've been having panic attacks at work every day this week. I'm scared someone will notice.
R: [IP2:Panic attacks at work are the worst, I used to hide in the bathroom stall until they passed.] Box breathing helped me a lot.

S: Lost my job today. 8 years there and they gave me 10 minutes notice.
R: [ER1:That's rough man.] Apply for unemployment right away, don't wait.

S: I feel like a burden to everyone around me. Like they'd be better off without me around.
R: [ER1:Sending hugs.] [IP1:I understand how you feel.] But the people who love you don't see you that way.

S: My dad passed away last week and I can't cry. Is something wrong with me?
R: [ER1:I'm sorry for your loss.] [IP2:When my mom died I didn't cry for almost two months, it's a kind of shock.] Nothing is wrong with you.

S: Does anyone else just feel numb all the time? Not sad, not happy, just nothing.
R: [IP2:Yes. For me the numbness was worse than the sadness, like watching my life through glass.] [EX2:How long have you been feeling this way?]

S: I keep pushing away everyone who tries to get close to me and then I wonder why I'm alone.
R: [IP2:I used to do the same thing, I'd pull away before anyone could hurt me.] A therapist can really help you figure out where it comes from.

S: i'm so tired of pretending to be okay
R: [ER1:Hang in there.] [EX1:What's going on?]

S: My best friend hasn't talked to me in a month and I don't know what I did wrong.
R: [ER1:That must hurt.] [EX2:Have you tried asking her directly if something is wrong?] Sometimes people are dealing with their own stuff and it isn't about you.

S: Relapsed after 90 days clean. I feel like such a failure.
R: [IP2:I relapsed after 120 days and felt the same shame, but those 120 days still counted.] Reset the counter and keep going.

S: Anyone else find Sundays the hardest? The whole evening I just feel this weight.
R: [IP2:Sunday evenings are the worst for me too, the dread about Monday just creeps in.]

S: My anxiety is so bad I haven't left my apartment in 2 weeks. I get groceries delivered.
R: [ER2:I'm really sorry, that sounds incredibly isolating and scary.] [EX2:Do you have anyone who could come over and sit with you for a bit?]

S: I'm 30 and I have nothing to show for it. No career, no partner, no friends.
R: [ER1:Sorry you're feeling this way.] Plenty of people turn everything around after 30. Comparing yourself to a timeline that doesn't exist won't help.

S: I got dumped over text. After two years.
R: [ER1:Ouch, that's cold.] [IP2:My ex did the same thing and I remember staring at my phone for an hour.] You deserved better than that.

S: My cat died this morning. She was my only friend and I don't know what to do with myself.
R: [ER2:I'm so so sorry. Losing her must hurt so much.] [IP2:When my cat died I felt like nobody understood how much she meant to me.]

S: I hate myself for the way I treated my mom when I was a teenager. She didn't deserve it.
R: [IP2:I carried that same guilt about my dad for years.] [EX2:Have you ever told her how you feel now?]

S: Can't sleep again. 4am and my brain won't shut up.
R: Try writing everything down on paper before bed so the thoughts aren't stuck in your head. Also no screens after 11.

S: I feel like I'm always the one reaching out in my friendships. If I stopped, nobody would text me.
R: [IP2:I know that feeling so well, I once stopped texting first just to see who would notice and almost nobody did.] [EX1:How are you doing?]

S: My therapist retired and I don't want to start over with someone new.
R: [IP1:I get it.] It's exhausting to tell your story again, but a good new therapist will go at your pace.

S: Everyone at work seems to hate me. They go quiet when I walk in.
R: Work environments can be really toxic. Maybe look for a new job if it's affecting you this much.

S: Just found out I have diabetes. I'm 23.
R: [ER1:Sorry to hear that.] It's very manageable these days. Lots of people live full lives with it.

S: I'm scared I'll never feel happy again.
R: [IP2:I felt exactly like that two years ago, and I honestly didn't believe it would change.] It did though. Slowly.

S: My parents are getting divorced and I'm stuck in the middle of it.
R: [ER1:That's really hard.] [EX2:Are they asking you to take sides?]

S: Got rejected from every grad program I applied to. Five years of work for nothing.
R: [ER1:That's a tough blow.] Apply again next year with a stronger application. Lots of people get in on the second try.

S: I hurt myself again tonight after 6 months. I thought I was past this.
R: [ER2:I'm so sorry you're hurting this much tonight.] [IP2:I've been there and the guilt afterwards is so heavy.] Six months is still six months. [EX2:Are you safe right now?]

S: Does it ever get easier living alone? The silence is getting to me.
R: [IP2:It did for me. The first few months I hated the silence, now I love my quiet evenings.]

S: I was bullied all through school and I still think about it every day, ten years later.
R: [IP2:Same here, some of the things they said still pop into my head at random.] Therapy helped me stop giving those kids power over me.

S: my husband says i'm too sensitive and maybe he's right
R: Being sensitive is not a flaw. The way he says it matters too.

S: I've been applying for jobs for 8 months with no luck. I'm running out of savings.
R: [EX2:What field are you applying in?] Sometimes getting someone to review your resume makes a big difference.

S: I feel so ugly. I can't even look in the mirror anymore.
R: [ER1:Sending love your way.] You are more than how you look.

S: I'm grieving a friend who took his own life last year. I keep wondering what I missed.
R: [ER2:I'm so deeply sorry. That kind of loss is devastating.] [IP2:I lost my cousin the same way and the questions never really stop.]

S: Every time I try to talk about my feelings, people change the subject.
R: [IP2:That used to happen to me all the time and it made me stop talking altogether.] I'm listening here though.

S: I'm 17 and I feel like my life is already over.
R: [ER1:Hugs.] At 17 your life has barely started. Things change so much in the next few years.

S: My dog has cancer and the vet says she has a month left.
R: [ER1:That's so sad.] Spoil her rotten this month.

S: I don't know how to make friends as an adult. Everyone already has their circle.
R: [IP2:Making friends after college was so hard for me too, everyone already seemed to have their people.] Join something that meets regularly, like a class or a sports league. Seeing the same faces every week is the key.

S: I keep thinking about the person I was before depression. I miss her.
R: [IP2:I miss that version of me too, the one who used to laugh easily.] [EX2:What was something that person loved doing?]

S: My roommate brings people over every night and I have no space to breathe.
R: Talk to your roommate and set some ground rules. You pay rent too.

S: I'm exhausted from caring for my sick mom. I love her but I have nothing left.
R: [ER1:That sounds exhausting.] [IP2:I was my dad's caregiver for three years and burnout is so real.] Please look into respite care.

S: Had a really bad day. Just need someone to say it'll be okay.
R: [ER1:It'll be okay. Hugs.] [EX1:Want to talk about it?]

S: I can't stop comparing myself to my siblings. They're all so successful.
R: [IP2:I'm the black sheep of my family too, so I know how that constant comparison feels.]

S: I moved across the country for a guy and he cheated on me a month later.
R: [ER2:Oh no, I'm so sorry. That's such a huge betrayal.] You were brave to make that move, and you can be brave again.

S: Is it normal to feel nothing after a breakup?
R: [IP2:For me the nothing came first and the feelings came weeks later.] It's different for everyone.

S: I got laughed at during my presentation today. I want to crawl into a hole.
R: [ER1:Oof, sorry.] People forget about those moments way faster than we do.

S: Can't afford therapy. What do I do?
R: Look for sliding scale clinics or university training clinics. [EX2:Are you a student right now?] Many universities offer free counseling.

S: My boyfriend gets angry when I hang out with my friends. He says they're a bad influence.
R: [EX2:Does he try to control other parts of your life too?] That's a red flag.

S: I've gained 40 pounds this year from stress eating and I feel disgusting.
R: [IP2:I did the same during my divorce, food was the only thing that felt good.] Be gentle with yourself.

S: feeling really alone tonight
R: [ER1:You're not alone.] [EX1:What's on your mind?]

S: My anxiety makes me cancel every plan I make. I'm losing friends over it.
R: [IP2:I've cancelled so many plans that my friends stopped inviting me, so I understand.] Try committing to just 30 minutes.

S: I was diagnosed with bipolar disorder today. I'm scared.
R: [ER1:I'm sorry you're scared.] A diagnosis means you can finally get the right treatment.

S: My ex already has a new girlfriend and it's been two weeks.
R: [ER1:That's gotta hurt.] Unfollow him everywhere. You don't need to see it.

S: I miss my grandma so much it hurts. She was the only one who really got me.
R: [ER1:Sorry for your loss.] [IP2:I still miss mine every day, especially her cooking.] [EX2:What's your favorite memory of her?]

S: I feel like I'm faking my depression. Other people have it so much worse.
R: [IP2:I used to think that too, that I wasn't sad enough to count.] Feeling that way is actually really common with depression.

S: My boss yelled at me in front of everyone today.
R: That's unprofessional of him. Document it and talk to HR.

S: I have no motivation to do anything, even things I used to enjoy.
R: [IP1:I understand.] That's called anhedonia and it's a common symptom of depression. It's worth mentioning to a doctor.

S: I keep having nightmares about the accident. I wake up screaming.
R: [ER2:That sounds terrifying, I'm so sorry you're reliving it.] [EX2:Have you been able to talk to anyone about the accident itself?]

S: I'm a single dad and I feel like I'm failing my kids.
R: [IP2:Single parent here too, and I feel that way most nights.] The fact that you worry means you care.

S: I feel invisible at school. I could disappear and nobody would notice.
R: [IP2:I felt invisible all through high school, like I could vanish and nobody would look up.]

S: Quit drinking 30 days ago. Cravings are brutal tonight.
R: Play the tape forward. Think about how you'll feel tomorrow morning if you drink tonight. Call someone.

S: =50
R: [ER1:Virtual hug.] [EX1:What's going on?]

S: My friends all got married and I'm still single at 35.
R: [ER1:Hang in there.] There's no deadline for love. Many people meet their partners later.

S: My mother has never once said she loves me.
R: [IP2:My mom was the same way, she showed love by cooking but never said it.] [EX2:Does she show it in other ways?]

S: I'm scared of dying. It keeps me up at night.
R: [IP2:Death anxiety hit me hard in my twenties, I know how consuming it is.] Reading about it helped me.

S: I lost all my savings in an online scam. I feel so stupid.
R: [ER2:That's awful, I'm so sorry this happened to you.] Report it to the police and your bank immediately.

S: I hate my body after having my baby.
R: [ER1:Sending love.] Your body did something amazing. Give it time.

S: Can't focus on anything. My ADHD is out of control this semester.
R: [EX2:Are you on medication, or have you talked to your doctor about adjusting it?]

S: Feel like I'm drowning in debt and it's never going to end.
R: Make a list of everything you owe and call each lender about a payment plan.

S: my brother is in the hospital after an overdose
R: [ER1:Praying for your brother.] [IP2:My sister overdosed two years ago, I remember the waiting room so clearly.]

S: I'm always the funny one but inside I'm falling apart.
R: [IP2:Same. Making everyone else laugh was how I hid how bad I felt.]

S: Just got out of the hospital after trying to end it. I don't know how to face people.
R: [ER1:I'm really glad you're still here.] [EX2:What kind of support do you have now that you're home?]

S: I don't think my partner loves me anymore. She barely looks at me.
R: Have an honest conversation with her. Guessing will only make it worse.

S: My son won't speak to me since I remarried.
R: [IP2:My daughter did the same when I remarried, it took her almost a year to come around.]

S: I have social anxiety and a job interview tomorrow. Already feel sick.
R: Prepare a few stories about your experience ahead of time so you're not improvising. [ER1:Good luck!]

S: I'm tired of being the strong friend. Nobody asks how I'm doing.
R: [IP2:As the strong friend myself, I feel this. Nobody checks on us.] [EX2:Is there one person you could be honest with about how you're feeling?]

S: Why does everything I try fail?
R: Failure is part of trying. The people who succeed just failed more times first.

S: I can't stop crying today and I don't know why.
R: [ER1:Sending love.] [IP2:I've had those days too, sometimes the tears just need to come out.]

S: My best friend is moving abroad next month and I'm heartbroken.
R: [IP2:My best friend moved to Australia last year and I was a wreck.] We video call every week now and it's honestly been fine.

S: Been sober a year today! Didn't think I'd make it.
R: [ER2:That's amazing, I'm so proud of you!] Keep going.

S: Why do I always attract toxic people?
R: [EX2:What do the people you've dated or befriended have in common?] Sometimes spotting the pattern is the first step.

S: I'm so lonely I've started talking to myself out loud.
R: [IP2:I do that too since I started living alone, it's weirdly comforting.]

S: Nobody understands how hard chronic pain is. People think I'm lazy.
R: [IP2:I've had chronic back pain for 6 years and you're right, people don't get it.]

S: My mom is in hospice. I don't know how to say goodbye.
R: [ER2:I'm so sorry, this is one of the hardest things a person can go through.] Just be there. Hold her hand, tell her what she means to you.

S: Overthinking everything I said at the party last night.
R: Everyone else is too busy worrying about what they said to remember what you said.

S: I feel like I'm wasting my 20s.
R: [IP2:I spent most of my twenties feeling stuck too, and my thirties have been so much better.]

S: My friends only call when they need something.
R: Those aren't real friends. Start investing in people who show up for you.

S: I don't want to live like this anymore.
R: [ER1:I'm here for you.] [EX2:When you say you don't want to live like this, are you having thoughts of ending your life?] Please reach out to a crisis line if you are.

S: Miscarried at 12 weeks. I feel so empty.
R: [ER2:I'm so very sorry for your loss. There are no words.] [IP2:I had a miscarriage last spring and the emptiness was the hardest part.]

S: Stuck in a job I hate but I can't afford to quit.
R: Start applying on the side. Even one application a week adds up. [EX2:What kind of work would you want to do instead?]

S: I keep getting ghosted after first dates. What's wrong with me?
R: [IP1:I know how you feel.] Dating apps are rough right now.

S: I think my friends secretly don't like me.
R: [EX2:What makes you feel that way, did something specific happen?]

S: I'm so burnt out from nursing school. I cry in my car before every shift.
R: [IP2:Nursing school nearly broke me too, especially clinicals.] [ER1:Hang in there.] It's worth it at the end.

S: I'm scared I'll end up like my alcoholic father.
R: [IP2:That fear followed me for years because my dad drank too.] Being aware of it is already a big difference.

S: =42
R: [EX1:What happened?]

S: I think I'm depressed but I'm scared to tell my parents.
R: [IP2:I was terrified to tell my parents too, and they ended up being way more supportive than I expected.]

S: Lost my home in the wildfire. Everything is gone.
R: [ER2:I'm so sorry. I can't imagine how devastating that is.] Reach out to the Red Cross, they help with temporary housing.

S: I have no one to spend the holidays with this year.
R: A lot of cities have community dinners on holidays. Volunteering is also a great way to be around people.

S: I feel like I'm too much for people.
R: [IP2:I've been told I'm too much my whole life, so I know how much that stings.] The right people won't think so.

S: Every morning I wake up with this dread in my chest.
R: [IP1:Same here.] It's worth talking to a doctor about.

S: My grades are slipping and my parents are furious with me.
R: [EX2:Is something going on that's making it harder to focus on school?]

S: I keep thinking I'm having a heart attack but the doctors say it's anxiety.
R: [IP2:I went to the ER three times for the same thing before I accepted it was anxiety.] It feels so real.

S: I'm in a new city and haven't spoken to anyone in days.
R: Try a meetup group. Even a board game night can help. [ER1:Good luck!]

S: My partner has depression and I don't know how to help him.
R: Just being there matters more than saying the right thing. Make sure you have support for yourself too.

S: i ruined my friendship with one stupid comment
R: [ER1:That sucks.] Apologize sincerely. Most friendships can survive one bad comment.

S: Can't stop thinking about my ex. It's been 6 months.
R: [IP2:It took me almost a year to stop thinking about mine every day.] No contact helped the most.

S: Anyone else feel like they're behind in life?
R: [IP2:All the time. Everyone around me seems to be buying houses while I'm still figuring things out.]

S: I got fired for being late because of my depression.
R: [ER1:That's unfair.] [EX2:Did your employer know about your depression?] Depending on where you live that might be discrimination.

S: My grandpa has dementia and doesn't remember me anymore.
R: [IP2:My grandma forgot my name before she passed and it felt like losing her twice.]

S: I'm overwhelmed by everything I have to do. I just freeze.
R: Write it all down and pick just three things for tomorrow. The rest can wait.

S: My sister said I'm the reason our family is broken.
R: [ER1:That's a really hurtful thing to hear.] One person can't break a whole family.

S: I've been isolating myself for months and now I don't know how to stop.
R: [IP2:Isolation crept up on me the same way, I didn't notice how bad it got until months had passed.]

S: I feel stupid for still being upset about something that happened years ago.
R: [IP2:I still get upset about things from high school, so I know that feeling.] Some things take a long time to heal. There's no expiration date on hurt.

S: Finally told my therapist the truth today.
R: [ER1:Proud of you.] That takes a lot of courage.

S: I think I'm going to drop out of college.
R: Talk to an academic advisor first. There may be options like a leave of absence.

S: Nobody would notice if I disappeared.
R: [ER1:I would notice.] [IP2:I used to believe that too until I saw how much my family fell apart when I was in the hospital.]

S: My anxiety is ruining my relationship.
R: [IP2:My anxiety almost ended my relationship too, I'd read into every little thing.] Couples therapy helped us.

S: =11
R: [IP1:I hear you.] Take a deep breath and try to get some rest tonight.

S: I think my dog is the only reason I'm still here.
R: [IP2:My cat got me through the worst year of my life, I know exactly what you mean.]

S: I'm terrified of going back to school after being bullied last year.
R: [EX2:Is there a teacher or counselor at school you trust?] Let them know what happened.
"""


if __name__ == "__main__":
    main()
